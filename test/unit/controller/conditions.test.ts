import { describe, expect, it } from 'vitest';
import { conditionsFor } from '../../../src/controller/conditions.js';
import { isTransient, Reason, reasonFor } from '../../../src/controller/reasons.js';

const t0 = new Date('2026-01-01T00:00:00Z');
const t1 = new Date('2026-01-01T00:05:00Z');

describe('conditions', () => {
  it('maps each outcome onto Ready, Progressing, Degraded, kstatus Reconciling and Stalled, and Drifted', () => {
    const ready = conditionsFor(undefined, { kind: 'ready', message: 'at head' }, null, 3, t0);
    expect(ready.map((c) => `${c.type}=${c.status}/${c.reason}`)).toEqual([
      'Ready=True/Applied',
      'Progressing=False/Applied',
      'Degraded=False/Applied',
      'Reconciling=False/Applied',
      'Stalled=False/Applied',
      'Drifted=False/NoDrift',
    ]);
    expect(ready.every((c) => c.observedGeneration === 3)).toBe(true);
    const failed = conditionsFor(
      ready,
      { kind: 'failed', reason: Reason.MigrationFailed, message: 'boom' },
      null,
      3,
      t1,
    );
    expect(failed.map((c) => `${c.type}=${c.status}`)).toEqual([
      'Ready=False',
      'Progressing=False',
      'Degraded=True',
      'Reconciling=False',
      'Stalled=True',
      'Drifted=False',
    ]);
    // A failure the controller retries by itself is still reconciling, not stalled.
    const retrying = conditionsFor(
      ready,
      { kind: 'failed', reason: Reason.ConnectionFailed, message: 'down', retrying: true },
      null,
      3,
      t1,
    );
    expect(
      retrying
        .filter((c) => c.type === 'Reconciling' || c.type === 'Stalled')
        .map((c) => `${c.type}=${c.status}`),
    ).toEqual(['Reconciling=True', 'Stalled=False']);
    const migrating = conditionsFor(
      ready,
      { kind: 'progressing', reason: Reason.WaitingForLock, message: 'w' },
      null,
      3,
      t1,
    );
    expect(migrating.find((c) => c.type === 'Progressing')).toMatchObject({
      status: 'True',
      reason: 'WaitingForLock',
    });
    const drifted = conditionsFor(
      ready,
      { kind: 'failed', reason: Reason.OutOfBandChange, message: 'm' },
      { reason: Reason.OutOfBandChange, message: 'm' },
      3,
      t1,
    );
    expect(drifted.find((c) => c.type === 'Drifted')).toMatchObject({
      status: 'True',
      reason: 'OutOfBandChange',
    });
  });

  it('moves lastTransitionTime only when a status changes', () => {
    const first = conditionsFor(undefined, { kind: 'ready', message: 'a' }, null, 1, t0);
    const again = conditionsFor(first, { kind: 'ready', message: 'b' }, null, 2, t1);
    expect(again.map((c) => c.lastTransitionTime)).toEqual(first.map((c) => c.lastTransitionTime));
    const changed = conditionsFor(first, { kind: 'dry-run', message: 'c' }, null, 2, t1);
    expect(changed.find((c) => c.type === 'Ready')?.lastTransitionTime).toBe(t1.toISOString());
    expect(changed.find((c) => c.type === 'Drifted')?.lastTransitionTime).toBe(t0.toISOString());
  });

  it('maps every migrator error code to a reason, and knows which are worth retrying', () => {
    expect(reasonFor('ChecksumMismatch')).toBe('ChecksumMismatch');
    expect(reasonFor('UnknownRevision')).toBe('UnknownDatabaseRevision');
    expect(reasonFor('LockTimeout')).toBe('WaitingForLock');
    expect(reasonFor('ConnectionFailed')).toBe('ConnectionFailed');
    expect(reasonFor('AmbiguousRevision')).toBe('RevisionNotFound');
    expect(reasonFor('StepLockTimeout')).toBe('StepLockTimeout');
    expect(isTransient(Reason.ConnectionFailed)).toBe(true);
    expect(isTransient(Reason.DowngradeNotAllowed)).toBe(false);
    expect(isTransient(Reason.UnknownDatabaseRevision)).toBe(false);
  });
});
