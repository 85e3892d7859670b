import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { sqlMigration } from '../support/cli.js';
import {
  applyManifest,
  dbm,
  readyWith,
  startController,
  urlSecret,
  waitForStatus,
} from '../support/controller.js';
import { connect, createTestDatabase, versionRows } from '../support/db.js';
import { adminKubectl, testNamespace } from '../support/kube/clients.js';

const leaderOf = async (controllers: { metrics(): Promise<string> }[]) =>
  Promise.all(controllers.map(async (c) => /^revisor_leader 1$/m.test(await c.metrics().catch(() => ''))));

/** Controller flags for leader election on a Lease of this test's own, in its namespace. */
function electionArgs(ns: string, timing: string[]) {
  const lease = `revisor-${randomBytes(3).toString('hex')}`;
  const args = [
    '--namespaces',
    ns,
    '--leader-elect',
    '--leader-elect-namespace',
    ns,
    '--leader-elect-name',
    lease,
    ...timing,
  ];
  return { lease, args };
}

describe('leader election', () => {
  it('runs one leader; when it is killed the other takes over, and no step is applied twice', async () => {
    const ns = await testNamespace();
    const url = await createTestDatabase();
    await applyManifest(ns, urlSecret('app-db', url));
    const files: Record<string, string> = {};
    for (let i = 1; i <= 6; i++) {
      const id = `rev${String(i).padStart(3, '0')}`;
      const down = i === 1 ? null : `rev${String(i - 1).padStart(3, '0')}`;
      files[`${i}.sql`] = sqlMigration(
        id,
        down,
        `CREATE TABLE t${i} (id int);\nSELECT pg_sleep(0.4);`,
        `DROP TABLE t${i};`,
      );
    }
    await applyManifest(ns, {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'chain' },
      data: files,
    });
    const { lease, args } = electionArgs(ns, [
      '--lease-duration',
      '3s',
      '--renew-deadline',
      '2s',
      '--retry-period',
      '300ms',
    ]);
    const first = await startController(args, { POD_NAME: 'first' });
    const second = await startController(args, { POD_NAME: 'second' });
    const deadline = Date.now() + 15_000;
    let leaders = await leaderOf([first, second]);
    while (leaders.filter(Boolean).length !== 1 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 200));
      leaders = await leaderOf([first, second]);
    }
    expect(leaders.filter(Boolean), first.logs()).toHaveLength(1);
    const [leader, standby] = leaders[0] ? [first, second] : [second, first];
    const holder = JSON.parse(await adminKubectl(['get', 'lease', lease, '-n', ns, '-o', 'json'])).spec
      .holderIdentity;
    expect(holder).toBe(leaders[0] ? 'first' : 'second');

    await applyManifest(
      ns,
      dbm('app', {
        database: { urlSecretRef: { name: 'app-db' } },
        migrations: { configMapRef: { name: 'chain' } },
      }),
    );
    await waitForStatus(ns, 'app', (s) => (s?.steps?.length ?? 0) >= 2);
    leader.child.kill('SIGKILL');
    await leader.exited;

    const status = await waitForStatus(ns, 'app', readyWith('Applied'), 45_000);
    expect(status.currentRevision).toBe('rev006');
    expect(await standby.metrics()).toMatch(/^revisor_leader 1$/m);
    const db = await connect(url);
    expect(await versionRows(db)).toEqual(['rev006']);
    const { rows } = await db.query(
      "SELECT revision, count(*)::int AS n FROM revisor_history WHERE direction = 'upgrade' AND outcome = 'applied' GROUP BY revision ORDER BY revision",
    );
    expect(rows).toEqual(
      ['rev001', 'rev002', 'rev003', 'rev004', 'rev005', 'rev006'].map((revision) => ({ revision, n: 1 })),
    );
  });

  it('releases the lease on SIGTERM so a successor need not wait for it to expire', async () => {
    const ns = await testNamespace();
    const { lease, args } = electionArgs(ns, ['--lease-duration', '60s']);
    const only = await startController(args, { POD_NAME: 'only' });
    const deadline = Date.now() + 15_000;
    while (!/^revisor_leader 1$/m.test(await only.metrics()) && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 200));
    only.child.kill('SIGTERM');
    expect(await only.exited).toBe(0);
    const spec = JSON.parse(await adminKubectl(['get', 'lease', lease, '-n', ns, '-o', 'json'])).spec;
    expect(spec.holderIdentity ?? '').toBe('');
  });
});
