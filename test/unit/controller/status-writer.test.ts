import { describe, expect, it } from 'vitest';
import type { Status } from '../../../src/controller/resource.js';
import { StatusWriter } from '../../../src/controller/status-writer.js';

const now = () => new Date('2026-12-06T08:00:00Z');

describe('the status writer both kinds share', () => {
  it('writes in order, only what changed, coalesces queued writes, and merges or replaces as its kind asks', async () => {
    const persisted: Status[] = [];
    let release: () => void = () => undefined;
    const slow = new Promise<void>((r) => (release = r));
    const writer = new StatusWriter<Status>({
      initial: { currentRevision: 'a' },
      generation: 2,
      now,
      mode: 'merge',
      shown: (s) => s,
      persist: async (s) => {
        if (persisted.length === 0) await slow;
        persisted.push(s);
      },
    });
    const first = writer.write(
      { kind: 'progressing', reason: 'Migrating', message: 'step 1' },
      { pendingRevisions: ['b', 'c'] },
    );
    // The first write is in flight (held up); two more queue behind it.
    await Promise.resolve();
    await Promise.resolve();
    const second = writer.write(
      { kind: 'progressing', reason: 'Migrating', message: 'step 2' },
      { currentRevision: 'b', pendingRevisions: ['c'] },
    );
    const third = writer.write(
      { kind: 'ready', message: 'at c' },
      { currentRevision: 'c', pendingRevisions: [] },
    );
    release();
    expect(await first).toBe(true);
    // Superseded while queued: the third carries its fields, and only it goes out.
    expect(await second).toBe(false);
    expect(await third).toBe(true);
    // The progress write held up did not land after the final one.
    expect(persisted.map((s) => s.conditions?.find((c) => c.type === 'Ready')?.reason)).toEqual([
      'Migrating',
      'Applied',
    ]);
    expect(persisted[1]).toMatchObject({ currentRevision: 'c', pendingRevisions: [], observedGeneration: 2 });
    // The same outcome again is equal to what is stored: nothing is written.
    expect(await writer.write({ kind: 'ready', message: 'at c' }, {})).toBe(false);
    expect(persisted).toHaveLength(2);

    const replaced: Status[] = [];
    const whole = new StatusWriter<Status>({
      initial: { currentRevision: 'a', pendingRevisions: ['b'] },
      generation: 1,
      now,
      mode: 'replace',
      shown: (s) => s,
      persist: async (s) => {
        replaced.push(s);
      },
    });
    await whole.write({ kind: 'ready', message: 'ok' }, { targetRevision: 'b' });
    expect(replaced[0]).not.toHaveProperty('pendingRevisions');
    expect(replaced[0]).toMatchObject({ targetRevision: 'b' });
  });
});
