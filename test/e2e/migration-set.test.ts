import { describe, expect, it } from 'vitest';
import { argoHealth } from '../support/argocd.js';
import { sqlMigration } from '../support/cli.js';
import { configMapChain, events, startController, urlSecret } from '../support/controller.js';
import { connect, createTestDatabase, versionRows } from '../support/db.js';
import { adminKubectl, testNamespace } from '../support/kube/clients.js';

const tenants = 50;
const secretOf = (i: number) => `tenant-${String(i).padStart(2, '0')}`;
const chain = {
  'a1_items.sql': sqlMigration('a1', null, 'CREATE TABLE items (id int PRIMARY KEY);', 'DROP TABLE items;'),
  'a2_note.sql': sqlMigration(
    'a2',
    'a1',
    'ALTER TABLE items ADD COLUMN note text;',
    'ALTER TABLE items DROP COLUMN note;',
  ),
};

interface SetObject {
  metadata: { generation: number };
  spec: Record<string, unknown>;
  status?: {
    observedGeneration?: number;
    databases?: number;
    counts?: Record<'Ready' | 'Progressing' | 'Failed' | 'Waiting', number>;
    revisions?: { revision: string; databases: number }[];
    failing?: { secret: string; migration: string; reason: string; message: string }[];
    conditions?: { type: string; status: string; reason: string; message: string }[];
  };
}

interface ChildObject {
  metadata: { name: string; ownerReferences?: { kind: string; name: string; controller?: boolean }[] };
  spec: { targetRevision: string; database: { urlSecretRef: { name: string } } };
  status?: { steps?: { revision: string; finishedAt: string }[] };
}

const getSet = async (ns: string): Promise<SetObject> =>
  JSON.parse(await adminKubectl(['get', 'dbms', 'shop', '-n', ns, '-o', 'json']));
const children = async (ns: string): Promise<ChildObject[]> =>
  JSON.parse(await adminKubectl(['get', 'dbm', '-n', ns, '-l', 'revisor.dev/set=shop', '-o', 'json'])).items;
const readyReason = (set: SetObject) => set.status?.conditions?.find((c) => c.type === 'Ready')?.reason;

/** Polls the set until `predicate` holds, checking `invariant` on every status seen on the way. */
async function waitForSet(
  ns: string,
  predicate: (set: SetObject) => boolean,
  invariant: (set: SetObject) => void = () => undefined,
  timeoutMs = 150_000,
): Promise<SetObject> {
  const deadline = Date.now() + timeoutMs;
  let last: SetObject | undefined;
  while (Date.now() < deadline) {
    last = await getSet(ns);
    invariant(last);
    if (last.status?.observedGeneration === last.metadata.generation && predicate(last)) return last;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`timed out; last status of the set: ${JSON.stringify(last?.status, null, 2)}`);
}

const allReadyOn = (revision: string) => (set: SetObject) =>
  readyReason(set) === 'Applied' && set.status?.revisions?.[0]?.revision === revision;

describe('DatabaseMigrationSet: one chain and target for many tenant databases', () => {
  it('rolls a target out canary first, in waves, halts at maxFailures, resumes when fixed, and releases a Secret that stops matching', async () => {
    const ns = await testNamespace();
    const urls: string[] = [];
    for (let i = 0; i < tenants; i += 10)
      urls.push(
        ...(await Promise.all(Array.from({ length: Math.min(10, tenants - i) }, createTestDatabase))),
      );
    const secrets = urls.map((url, i) => {
      const secret = urlSecret(secretOf(i), url, 'shop');
      return { ...secret, metadata: { ...secret.metadata, labels: { tier: 'tenant' } } };
    });
    // An unlabelled Secret in the same namespace: not a tenant.
    const bystander = urlSecret('not-a-tenant', await createTestDatabase());
    await adminKubectl(
      ['apply', '-n', ns, '-f', '-'],
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'List',
        items: [...secrets, bystander, configMapChain('chain', chain)],
      }),
    );
    const controller = await startController([
      '--namespaces',
      ns,
      '--resync',
      '2s',
      '--migration-sets',
      '--max-concurrent',
      '8',
    ]);
    const spec = (targetRevision: string) => ({
      targetRevision,
      migrations: { configMapRef: { name: 'chain' } },
      retry: { initialBackoffSeconds: 1, maxBackoffSeconds: 2 },
      databases: { secretSelector: { matchLabels: { tier: 'tenant' } } },
      rollout: { canary: 2, maxParallel: 10, maxFailures: 1 },
    });
    const apply = (targetRevision: string) =>
      adminKubectl(
        ['apply', '-n', ns, '-f', '-'],
        JSON.stringify({
          apiVersion: 'revisor.dev/v1alpha1',
          kind: 'DatabaseMigrationSet',
          metadata: { name: 'shop' },
          spec: spec(targetRevision),
        }),
      );
    const withinParallel = (set: SetObject) =>
      expect(set.status?.counts?.Progressing ?? 0).toBeLessThanOrEqual(10);

    await apply('a1');
    const first = await waitForSet(ns, allReadyOn('a1'), withinParallel);
    expect(first.status?.databases).toBe(tenants);
    expect(first.status?.counts).toEqual({ Ready: tenants, Progressing: 0, Failed: 0, Waiting: 0 });
    expect(argoHealth(first)).toMatchObject({ status: 'Healthy' });
    const owned = await children(ns);
    expect(owned).toHaveLength(tenants);
    expect(owned.every((c) => c.metadata.ownerReferences?.[0]?.kind === 'DatabaseMigrationSet')).toBe(true);
    expect(owned.map((c) => c.spec.database.urlSecretRef.name)).not.toContain('not-a-tenant');

    // Tenant 7 already has the column a2 adds: its upgrade fails there.
    const seventh = await connect(urls[7]!);
    await seventh.query('ALTER TABLE items ADD COLUMN note text');
    await apply('a2');
    // Between its retries (their reason is Migrating) the failing child shows why it failed.
    const halted = await waitForSet(
      ns,
      (s) => readyReason(s) === 'RolloutHalted' && s.status?.failing?.[0]?.reason === 'MigrationFailed',
      withinParallel,
    );
    expect(halted.status?.failing?.[0]).toMatchObject({ secret: 'tenant-07', migration: 'shop-tenant-07' });
    expect(halted.status?.failing?.[0]?.message).toContain('a2');
    expect(halted.status?.counts?.Failed).toBe(1);
    // The children retry by themselves: in progress for kstatus, Progressing for Argo CD.
    expect(halted.status?.conditions?.find((c) => c.type === 'Reconciling')?.status).toBe('True');
    expect(argoHealth(halted).status).toBe('Progressing');
    const startedAtHalt = (await children(ns)).filter((c) => c.spec.targetRevision === 'a2').length;
    await new Promise((r) => setTimeout(r, 4000));
    const stillHalted = await getSet(ns);
    expect(readyReason(stillHalted)).toBe('RolloutHalted');
    const startedLater = (await children(ns)).filter((c) => c.spec.targetRevision === 'a2').length;
    expect(startedLater).toBe(startedAtHalt);
    expect(startedAtHalt).toBeLessThan(tenants);
    expect(await versionRows(await connect(urls[tenants - 1]!))).toEqual(['a1']);
    expect((await events(ns)).some((e) => e.reason === 'RolloutHalted' && e.type === 'Warning')).toBe(true);

    // The fix: the child's retry applies a2, and the rollout goes on to the end.
    await seventh.query('ALTER TABLE items DROP COLUMN note');
    const done = await waitForSet(ns, allReadyOn('a2'), withinParallel);
    expect(done.status?.revisions).toEqual([{ revision: 'a2', databases: tenants }]);
    expect(done.status?.failing).toEqual([]);
    for (const url of urls) expect(await versionRows(await connect(url))).toEqual(['a2']);
    expect(await controller.metrics()).toContain(
      `revisor_set_databases{namespace="${ns}",set="shop",state="Ready"} ${tenants}`,
    );

    // Canary first: tenants 0 and 1 finished a2 before any other did.
    const finishedA2 = (c: ChildObject) =>
      Date.parse(c.status?.steps?.find((s) => s.revision === 'a2')?.finishedAt ?? '');
    const all = await children(ns);
    const canary = all.filter((c) => ['shop-tenant-00', 'shop-tenant-01'].includes(c.metadata.name));
    const rest = all.filter((c) => !canary.includes(c));
    expect(canary).toHaveLength(2);
    expect(Math.max(...canary.map(finishedA2))).toBeLessThan(Math.min(...rest.map(finishedA2)));

    // Relabelled away: the child goes, the database stays as it was.
    await adminKubectl(['label', 'secret', secretOf(tenants - 1), '-n', ns, 'tier-']);
    const released = await waitForSet(ns, (s) => s.status?.databases === tenants - 1);
    expect(released.status?.counts?.Ready).toBe(tenants - 1);
    expect((await children(ns)).map((c) => c.metadata.name)).not.toContain(`shop-${secretOf(tenants - 1)}`);
    const leftAlone = await connect(urls[tenants - 1]!);
    expect(await versionRows(leftAlone)).toEqual(['a2']);
    expect((await leftAlone.query('SELECT count(*)::int AS n FROM items')).rows[0].n).toBe(0);
    expect(
      (await events(ns)).some((e) => e.reason === 'Released' && e.message.includes(secretOf(tenants - 1))),
    ).toBe(true);

    // Paused: Argo CD reads it as Suspended.
    await adminKubectl([
      'patch',
      'dbms',
      'shop',
      '-n',
      ns,
      '--type',
      'merge',
      '-p',
      '{"spec":{"rollout":{"pause":true}}}',
    ]);
    expect(argoHealth(await getSet(ns)).status).toBe('Suspended');
  }, 400_000);
});
