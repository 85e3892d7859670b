import { describe, expect, it } from 'vitest';
import {
  LeaderElector,
  type LeaseRecord,
  type LeaseStore,
} from '../../../src/controller/scheduling/leader.js';

function memoryStore() {
  let record: LeaseRecord | null = null;
  let version = 0;
  const store: LeaseStore = {
    get: async () => (record ? { ...record } : null),
    create: async (r) => {
      if (record) throw Object.assign(new Error('exists'), { code: 409 });
      record = { ...r, resourceVersion: String(++version) };
      return { ...record };
    },
    update: async (r) => {
      if (r.resourceVersion !== record?.resourceVersion)
        throw Object.assign(new Error('conflict'), { code: 409 });
      record = { ...r, resourceVersion: String(++version) };
      return { ...record };
    },
  };
  return { store, current: () => record };
}

describe('LeaderElector', () => {
  it('lets one candidate lead, and another take over only after the lease was seen unrenewed for its duration', async () => {
    let now = 0;
    const { store, current } = memoryStore();
    const options = { leaseDurationMs: 10_000, renewDeadlineMs: 8_000, retryPeriodMs: 2_000, now: () => now };
    const a = new LeaderElector(store, { ...options, identity: 'a' });
    const b = new LeaderElector(store, { ...options, identity: 'b' });
    expect(await a.tryAcquireOrRenew()).toBe(true);
    expect(await b.tryAcquireOrRenew()).toBe(false);
    now = 5_000;
    expect(await a.tryAcquireOrRenew()).toBe(true);
    expect(await b.tryAcquireOrRenew()).toBe(false);
    // a stops renewing; b must watch the same record for a full lease duration.
    now = 14_000;
    expect(await b.tryAcquireOrRenew()).toBe(false);
    now = 15_001;
    expect(await b.tryAcquireOrRenew()).toBe(true);
    expect(current()).toMatchObject({ holderIdentity: 'b', leaseTransitions: 1 });
  });

  it('steps down when it cannot renew within the deadline, and releases the lease on request', async () => {
    let now = 0;
    const { store, current } = memoryStore();
    let failing = false;
    const flaky: LeaseStore = {
      ...store,
      update: async (r) => {
        if (failing) throw new Error('api down');
        return store.update(r);
      },
    };
    const elector = new LeaderElector(flaky, {
      identity: 'a',
      leaseDurationMs: 10_000,
      renewDeadlineMs: 5_000,
      retryPeriodMs: 2_000,
      now: () => now,
      sleep: async (ms) => {
        now += ms;
        if (now > 4_000) failing = true;
      },
    });
    let started = 0;
    const ended = await elector.run(new AbortController().signal, () => started++);
    expect(started).toBe(1);
    expect(ended).toBe('lost');

    const fresh = memoryStore();
    const leader = new LeaderElector(fresh.store, {
      identity: 'x',
      leaseDurationMs: 10_000,
      renewDeadlineMs: 5_000,
      retryPeriodMs: 10,
    });
    const stop = new AbortController();
    const run = leader.run(stop.signal, () => stop.abort());
    expect(await run).toBe('stopped');
    await leader.release();
    expect(fresh.current()).toMatchObject({ holderIdentity: '', leaseDurationSeconds: 1 });
    expect(current()?.holderIdentity).toBe('a');
  });
});
