import { describe, expect, it } from 'vitest';
import { type ReconcileDeps, reconcile } from '../../src/controller/migration/index.js';
import type { WorkloadState } from '../../src/controller/migration/rollout.js';
import type { DatabaseMigration, Status } from '../../src/controller/resource.js';
import type { SecretObject } from '../../src/controller/secret-policy.js';
import { connect, createTestDatabase, tableNames, versionRows } from '../support/db.js';
import { deps, FakeCluster } from '../support/fake-cluster.js';
import { expandContractChain } from '../support/fixtures.js';

const resource = (spec: Record<string, unknown>, status?: Status, generation = 1): DatabaseMigration => ({
  metadata: { name: 'app', namespace: 'team-a', generation, resourceVersion: '1' },
  spec: { database: { urlSecretRef: { name: 'db', key: 'url' } }, ...spec },
  ...(status ? { status } : {}),
});

const ready = (s: Status | undefined) => s?.conditions?.find((c) => c.type === 'Ready');

describe('reconcile against a narrow cluster interface and a real database', () => {
  it('applies to head, then a second pass changes nothing and writes nothing', async () => {
    const url = await createTestDatabase();
    const cluster = new FakeCluster();
    cluster.secrets.set('team-a/db', {
      data: { url },
      annotations: { 'revisor.dev/allowed-migrations': '*' },
    });
    const first = await reconcile(resource({}), deps(cluster));
    expect(first).toEqual({ outcome: 'ready', requeueAfterMs: 60_000 });
    const final = cluster.writes.at(-1)!;
    expect(ready(final)).toMatchObject({ status: 'True', reason: 'Applied' });
    expect(final.currentRevision).toBe('c0b7d0e366e7');
    expect(final.steps).toHaveLength(3);
    expect(final.lastAppliedRevision).toBe('c0b7d0e366e7');
    // A run of a few fast steps reports only its result: one status write and the Applied
    // Event, which says where it started from (a slow one says Migrating, with a Started
    // Event, after a second: test/e2e/controller.test.ts).
    expect(cluster.writes).toHaveLength(1);
    expect(cluster.events.map((e) => e.reason)).toEqual(['Applied']);
    expect(cluster.events[0]!.message).toBe(
      'upgrade base -> c0b7d0e366e7: 3 step(s) applied; the database is at c0b7d0e366e7',
    );

    const before = cluster.writes.length;
    const second = await reconcile(resource({}, final), deps(cluster));
    expect(second.outcome).toBe('ready');
    expect(cluster.writes).toHaveLength(before);
  });

  it('refuses a downgrade without allowDowngrade and touches nothing', async () => {
    const url = await createTestDatabase();
    const cluster = new FakeCluster();
    cluster.secrets.set('team-a/db', {
      data: { url },
      annotations: { 'revisor.dev/allowed-migrations': '*' },
    });
    await reconcile(resource({}), deps(cluster));
    const result = await reconcile(
      resource({ targetRevision: '972fc63ffb69' }, cluster.writes.at(-1), 2),
      deps(cluster),
    );
    expect(result).toEqual({ outcome: 'failed', requeueAfterMs: null });
    expect(ready(cluster.writes.at(-1))).toMatchObject({ status: 'False', reason: 'DowngradeNotAllowed' });
    expect(await versionRows(await connect(url))).toEqual(['c0b7d0e366e7']);
  });

  it('waits for a missing Secret with backoff, and names an invalid spec without retrying', async () => {
    const cluster = new FakeCluster();
    const missing = await reconcile(resource({ retry: { initialBackoffSeconds: 2 } }), deps(cluster));
    expect(missing).toEqual({ outcome: 'failed', requeueAfterMs: 2000 });
    expect(ready(cluster.writes.at(-1))).toMatchObject({ reason: 'SecretNotFound' });
    expect(cluster.writes.at(-1)?.attempts).toBe(1);

    const invalid = await reconcile(resource({ targetRevision: 'base' }), deps(cluster));
    expect(invalid).toEqual({ outcome: 'failed', requeueAfterMs: null });
    expect(ready(cluster.writes.at(-1))?.message).toContain('allowDowngrade');
  });

  it('puts a dry run plan in status without touching the database', async () => {
    const url = await createTestDatabase();
    const cluster = new FakeCluster();
    cluster.secrets.set('team-a/db', {
      data: { url },
      annotations: { 'revisor.dev/allowed-migrations': '*' },
    });
    const result = await reconcile(resource({ dryRun: true, targetRevision: '972fc63ffb69' }), deps(cluster));
    expect(result.outcome).toBe('dry-run');
    expect(cluster.writes.at(-1)?.plan?.map((p) => p.revision)).toEqual(['972fc63ffb69']);
    expect(await tableNames(await connect(url))).toEqual([]);
  });
});

describe('reconcile gives every failure a condition', () => {
  const allowed = (url: string): SecretObject => ({
    data: { url },
    annotations: { 'revisor.dev/allowed-migrations': '*' },
  });

  it('an API error reading a reference (403) is ReferenceUnreadable, retried, with no raw error', async () => {
    const cluster = new FakeCluster();
    cluster.secret = async () => {
      throw Object.assign(new Error('secrets "db" is forbidden: User cannot get resource'), { code: 403 });
    };
    const result = await reconcile(resource({}), deps(cluster));
    expect(result.outcome).toBe('failed');
    expect(result.requeueAfterMs).toBeGreaterThan(0);
    expect(ready(cluster.writes.at(-1))).toMatchObject({ status: 'False', reason: 'ReferenceUnreadable' });
    expect(ready(cluster.writes.at(-1))?.message).toContain('the API server answered 403');
  });

  it('a version table the role may not create is PermissionDenied, Degraded, not Progressing', async () => {
    const url = await createTestDatabase();
    const admin = await connect(url);
    const role = `r_${Math.random().toString(36).slice(2, 10)}`;
    await admin.query(`CREATE ROLE ${role} LOGIN PASSWORD 'pw-${role}'`);
    await admin.query('REVOKE CREATE ON SCHEMA public FROM PUBLIC');
    const u = new URL(url);
    u.username = role;
    u.password = `pw-${role}`;
    const cluster = new FakeCluster();
    cluster.secrets.set('team-a/db', allowed(u.toString()));
    const result = await reconcile(resource({}), deps(cluster));
    await admin.query(`DROP OWNED BY ${role}; DROP ROLE ${role}`);
    expect(result.outcome).toBe('failed');
    const final = cluster.writes.at(-1)!;
    expect(ready(final)).toMatchObject({ status: 'False', reason: 'PermissionDenied' });
    expect(final.conditions?.find((c) => c.type === 'Progressing')?.status).toBe('False');
    expect(final.conditions?.find((c) => c.type === 'Degraded')?.status).toBe('True');
    expect(JSON.stringify(final)).not.toContain(`pw-${role}`);
    expect(JSON.stringify(final)).not.toContain(role);
  });

  it('a bug is InternalError, Degraded, and not retried in a loop', async () => {
    const url = await createTestDatabase();
    const cluster = new FakeCluster();
    cluster.secrets.set('team-a/db', allowed(url));
    const broken: ReconcileDeps = {
      ...deps(cluster),
      openMigrator: () => {
        throw new TypeError("Cannot read properties of undefined (reading 'graph')");
      },
    };
    const result = await reconcile(resource({}), broken);
    expect(result).toEqual({ outcome: 'failed', requeueAfterMs: null });
    expect(ready(cluster.writes.at(-1))).toMatchObject({ status: 'False', reason: 'InternalError' });
    expect(ready(cluster.writes.at(-1))?.message).toContain('a bug in revisor');
  });

  it('runs post-deploy revisions only once the named Deployment has rolled out (WaitingForRollout until then)', async () => {
    const url = await createTestDatabase();
    const cluster = new FakeCluster();
    cluster.secrets.set('team-a/db', {
      data: { url },
      annotations: { 'revisor.dev/allowed-migrations': '*' },
    });
    cluster.configMaps.set('team-a/chain', expandContractChain());
    const spec = {
      migrations: { configMapRef: { name: 'chain' } },
      postDeploy: { after: { kind: 'Deployment', name: 'web', image: 'app:v2' } },
    };
    const first = await reconcile(resource(spec), deps(cluster));
    expect(first).toEqual({ outcome: 'progressing', requeueAfterMs: 5000 });
    const waiting = cluster.writes.at(-1)!;
    expect(waiting.conditions?.find((c) => c.type === 'Progressing')).toMatchObject({
      status: 'True',
      reason: 'WaitingForRollout',
    });
    expect(waiting.conditions?.find((c) => c.type === 'Progressing')?.message).toContain(
      'post-deploy revision(s) contract wait for the rollout: Deployment web does not exist yet',
    );
    const db = await connect(url);
    expect(await versionRows(db)).toEqual(['expand01']);

    // Rolling out: old pods remain, so still waiting, and nothing more runs.
    const rolling: WorkloadState = {
      generation: 2,
      observedGeneration: 2,
      desired: 3,
      current: 4,
      updated: 3,
      available: 3,
      images: ['app:v2'],
    };
    cluster.workloads.set('team-a/Deployment/web', rolling);
    const second = await reconcile(resource(spec, waiting), deps(cluster));
    expect(second.outcome).toBe('progressing');
    expect(cluster.writes.at(-1)?.conditions?.find((c) => c.type === 'Progressing')?.message).toContain(
      'still runs 1 old replica(s)',
    );
    expect(await versionRows(db)).toEqual(['expand01']);

    cluster.workloads.set('team-a/Deployment/web', { ...rolling, current: 3 });
    const third = await reconcile(resource(spec, cluster.writes.at(-1)), deps(cluster));
    expect(third.outcome).toBe('ready');
    expect(await versionRows(db)).toEqual(['contract']);
    await db.end();
  });
});
