import { describe, expect, it } from 'vitest';
import { WorkQueue } from '../../../src/controller/scheduling/workqueue.js';

function manualTimers() {
  const pending: { fn: () => void; ms: number; cancelled: boolean }[] = [];
  return {
    pending,
    setTimer: (fn: () => void, ms: number) => {
      const t = { fn, ms, cancelled: false };
      pending.push(t);
      return {
        cancel: () => {
          t.cancelled = true;
        },
      };
    },
    fire: () => {
      for (const t of pending.splice(0)) if (!t.cancelled) t.fn();
    },
  };
}

const tick = () => new Promise((r) => setTimeout(r, 0));

describe('WorkQueue', () => {
  it('de-duplicates waiting keys and runs one handler per key at a time, re-running a key added meanwhile', async () => {
    const runs: string[] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let active = 0;
    let maxActiveForA = 0;
    const queue = new WorkQueue(
      async (key) => {
        runs.push(key);
        if (key === 'a') {
          active++;
          maxActiveForA = Math.max(maxActiveForA, active);
          await gate;
          active--;
        }
        return { requeueAfterMs: null };
      },
      { concurrency: 1, baseDelayMs: 10, maxDelayMs: 100 },
    );
    queue.add('a');
    queue.add('a');
    queue.add('b');
    queue.add('b');
    await tick();
    // a is running: adding it again marks it to run once more afterwards.
    queue.add('a');
    release();
    await tick();
    await tick();
    await queue.shutDown();
    expect(runs).toEqual(['a', 'b', 'a']);
    expect(maxActiveForA).toBe(1);
  });

  it('bounds parallelism', async () => {
    let active = 0;
    let peak = 0;
    const queue = new WorkQueue(
      async () => {
        active++;
        peak = Math.max(peak, active);
        await new Promise((r) => setTimeout(r, 5));
        active--;
        return { requeueAfterMs: null };
      },
      { concurrency: 2, baseDelayMs: 10, maxDelayMs: 100 },
    );
    for (let i = 0; i < 10; i++) queue.add(`k${i}`);
    await new Promise((r) => setTimeout(r, 80));
    await queue.shutDown();
    expect(peak).toBe(2);
  });

  it('backs off exponentially, capped, when a handler throws, and honours requeueAfterMs', async () => {
    const timers = manualTimers();
    let calls = 0;
    const queue = new WorkQueue(
      async (key) => {
        calls++;
        if (key === 'ok') return { requeueAfterMs: 5000 };
        throw new Error('boom');
      },
      { concurrency: 1, baseDelayMs: 100, maxDelayMs: 300, setTimer: timers.setTimer },
    );
    queue.add('bad');
    const delays: number[] = [];
    for (let i = 0; i < 4; i++) {
      await tick();
      delays.push(timers.pending.at(-1)!.ms);
      timers.fire();
    }
    expect(delays).toEqual([100, 200, 300, 300]);
    queue.add('ok');
    await tick();
    expect(timers.pending.at(-1)!.ms).toBe(5000);
    // The first run, four retries, then 'ok'.
    expect(calls).toBe(6);
    await queue.shutDown();
  });

  it('stretches a requeue by up to its jitter, so resources Ready together do not come due together', async () => {
    const timers = manualTimers();
    const draws = [0, 0.5, 1];
    const queue = new WorkQueue(async () => ({ requeueAfterMs: 10_000 }), {
      concurrency: 1,
      baseDelayMs: 100,
      maxDelayMs: 300,
      requeueJitter: 0.1,
      setTimer: timers.setTimer,
      random: () => draws.shift()!,
    });
    const delays: number[] = [];
    for (const key of ['a', 'b', 'c']) {
      queue.add(key);
      await tick();
      delays.push(timers.pending.at(-1)!.ms);
    }
    expect(delays).toEqual([10_000, 10_500, 11_000]);
    await queue.shutDown();
  });

  it("puts a handler's requeue behind every change, and moves a key ahead when it changes", async () => {
    const timers = manualTimers();
    const runs: string[] = [];
    let release!: () => void;
    let gate = new Promise<void>((r) => (release = r));
    const queue = new WorkQueue(
      async (key) => {
        runs.push(key);
        if (key === 'busy') await gate;
        return { requeueAfterMs: key === 'busy' ? null : 1000 };
      },
      { concurrency: 1, baseDelayMs: 100, maxDelayMs: 300, setTimer: timers.setTimer },
    );
    // r1 and r2 run once and ask to be looked at again after their period.
    queue.add('r1');
    queue.add('r2');
    await tick();
    await tick();
    expect(runs).toEqual(['r1', 'r2']);
    // The worker is busy when their periods come round, and changes arrive meanwhile.
    queue.add('busy');
    await tick();
    timers.fire();
    queue.add('new1');
    queue.add('r2');
    queue.add('new2');
    expect(queue.length).toBe(4);
    release();
    gate = Promise.resolve();
    for (let i = 0; i < 8; i++) await tick();
    // r2 changed, so it went with the changes in their order; r1's periodic look waited for all.
    expect(runs).toEqual(['r1', 'r2', 'busy', 'new1', 'r2', 'new2', 'r1']);
    await queue.shutDown();
  });

  it('runs a periodic key once, however often its period comes round while it waits', async () => {
    const runs: string[] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const queue = new WorkQueue(
      async (key) => {
        runs.push(key);
        if (key === 'busy') await gate;
        return { requeueAfterMs: null };
      },
      { concurrency: 1, baseDelayMs: 100, maxDelayMs: 300 },
    );
    queue.add('busy');
    queue.add('a', 'periodic');
    queue.add('a', 'periodic');
    queue.add('a');
    queue.add('a', 'periodic');
    expect(queue.length).toBe(1);
    release();
    for (let i = 0; i < 4; i++) await tick();
    expect(runs).toEqual(['busy', 'a']);
    await queue.shutDown();
  });

  it('keeps the priority of a key added while it ran: a periodic look then still waits behind changes', async () => {
    const runs: string[] = [];
    const gates = new Map<string, () => void>();
    const queue = new WorkQueue(
      async (key) => {
        runs.push(key);
        if (runs.length <= 2) await new Promise<void>((r) => gates.set(key, r));
        return { requeueAfterMs: null };
      },
      { concurrency: 1, baseDelayMs: 100, maxDelayMs: 300 },
    );
    queue.add('a');
    await tick();
    // While a runs, its period comes round, and a change to b arrives.
    queue.add('a', 'periodic');
    queue.add('b');
    gates.get('a')!();
    for (let i = 0; i < 4; i++) await tick();
    // While b runs, a change to c arrives: it goes before a's periodic look.
    queue.add('c');
    gates.get('b')!();
    for (let i = 0; i < 6; i++) await tick();
    expect(runs).toEqual(['a', 'b', 'c', 'a']);
    await queue.shutDown();
  });
});
