import { describe, expect, it } from 'vitest';
import type { DatabaseMigration } from '../../../src/controller/resource.js';
import type { DatabaseMigrationSet, SetStatus } from '../../../src/controller/set-resource.js';
import { reconcileSet, type SetClusterPort } from '../../../src/controller/sets/set-reconcile.js';

/** The narrow cluster port, recorded; e2e/migration-set.test.ts runs the same path on the real API server. */
function recordingCluster(secrets: string[]) {
  const calls = {
    created: [] as DatabaseMigration[],
    replaced: [] as { name: string; spec: Record<string, unknown> }[],
    deleted: [] as string[],
    statuses: [] as SetStatus[],
    events: [] as string[],
    selectors: [] as string[],
  };
  const port: SetClusterPort = {
    secretNames: async (_ns, selector) => {
      calls.selectors.push(selector);
      return [...secrets];
    },
    createMigration: async (child) => void calls.created.push(child),
    replaceMigrationSpec: async (child, spec) => {
      calls.replaced.push({ name: child.metadata.name, spec });
      return true;
    },
    deleteMigration: async (_ns, name) => {
      calls.deleted.push(name);
      return true;
    },
    writeSetStatus: async (_set, status) => void calls.statuses.push(status),
    setEvent: async (_set, type, reason) => void calls.events.push(`${type} ${reason}`),
  };
  return { port, calls };
}

const set = (spec: Record<string, unknown>): DatabaseMigrationSet => ({
  metadata: { name: 'shop', namespace: 'tenants', uid: 'uid-1', generation: 3 },
  spec: {
    targetRevision: 'v2',
    databases: { secretSelector: { matchLabels: { tier: 'tenant' } } },
    rollout: { canary: 1, maxParallel: 2 },
    ...spec,
  },
});

const child = (secret: string, target: string): DatabaseMigration => ({
  metadata: { name: `shop-${secret}`, namespace: 'tenants', generation: 1 },
  spec: { targetRevision: target, database: { urlSecretRef: { name: secret, key: 'url' } } },
  status: {
    observedGeneration: 1,
    currentRevision: target,
    conditions: [
      {
        type: 'Ready',
        status: 'True',
        reason: 'Applied',
        message: '',
        lastTransitionTime: '',
        observedGeneration: 1,
      },
    ],
  },
});

const deps = (port: SetClusterPort, children: DatabaseMigration[]) => ({
  cluster: port,
  children: () => children,
  resyncMs: 60_000,
  now: () => new Date('2026-12-04T00:00:00Z'),
});

describe('reconcileSet', () => {
  it('creates the canary alone, owned by the set, and writes the counts once', async () => {
    const { port, calls } = recordingCluster(['b', 'a', 'c']);
    const result = await reconcileSet(set({}), deps(port, []));
    expect(calls.selectors).toEqual(['tier=tenant']);
    expect(calls.created.map((c) => c.metadata.name)).toEqual(['shop-a']);
    expect(calls.created[0]!.metadata.ownerReferences).toEqual([
      expect.objectContaining({ kind: 'DatabaseMigrationSet', name: 'shop', uid: 'uid-1', controller: true }),
    ]);
    expect(calls.created[0]!.spec).toMatchObject({
      targetRevision: 'v2',
      database: { urlSecretRef: { name: 'a', key: 'url' } },
    });
    expect(calls.statuses).toHaveLength(1);
    expect(calls.statuses[0]).toMatchObject({
      observedGeneration: 3,
      databases: 3,
      counts: { Ready: 0, Progressing: 1, Failed: 0, Waiting: 2 },
    });
    expect(calls.events).toEqual(['Normal RollingOut']);
    expect(result).toEqual({
      requeueAfterMs: 60_000,
      outcome: 'progressing',
      counts: { Ready: 0, Progressing: 1, Failed: 0, Waiting: 2 },
    });
  });

  it('retargets children after the canary, and deletes the child of a Secret that no longer matches', async () => {
    const { port, calls } = recordingCluster(['a', 'b', 'c']);
    const children = [child('a', 'v2'), child('b', 'v1'), child('gone', 'v1')];
    await reconcileSet(set({}), deps(port, children));
    expect(calls.deleted).toEqual(['shop-gone']);
    expect(calls.events).toContain('Normal Released');
    expect(calls.replaced.map((r) => [r.name, r.spec['targetRevision']])).toEqual([['shop-b', 'v2']]);
    expect(
      calls.created.map((c) => [c.metadata.name, (c.spec as { targetRevision: string }).targetRevision]),
    ).toEqual([['shop-c', 'v2']]);
  });

  it('takes an explicit list in its own order, with per-Secret keys, listing no Secrets', async () => {
    const { port, calls } = recordingCluster(['unused']);
    await reconcileSet(
      set({
        databases: { secrets: [{ name: 'zeta', key: 'dsn' }, { name: 'alpha' }] },
        rollout: { canary: 0, maxParallel: 5 },
      }),
      deps(port, []),
    );
    expect(calls.selectors).toEqual([]);
    expect(
      calls.created.map((c) => (c.spec as { database: { urlSecretRef: unknown } }).database.urlSecretRef),
    ).toEqual([
      { name: 'zeta', key: 'dsn' },
      { name: 'alpha', key: 'url' },
    ]);
  });

  it('refuses a spec its children would refuse, touching no child', async () => {
    const { port, calls } = recordingCluster(['a']);
    const result = await reconcileSet(
      set({ migrations: { image: 'registry.example/app:1' }, approval: 'Always' }),
      deps(port, [child('a', 'v1')]),
    );
    expect(result.outcome).toBe('failed');
    expect(calls.created).toEqual([]);
    expect(calls.replaced).toEqual([]);
    expect(calls.deleted).toEqual([]);
    const ready = calls.statuses[0]?.conditions?.find((c) => c.type === 'Ready');
    expect(ready?.reason).toBe('InvalidSpec');
    expect(ready?.message).toContain('spec.migrations.image runs upgrades only');
    expect(calls.statuses[0]?.conditions?.find((c) => c.type === 'Stalled')?.status).toBe('True');
  });
});
