import { describe, expect, it } from 'vitest';
import { argoHealth } from '../support/argocd.js';
import { runCli, sqlMigration, writeChain } from '../support/cli.js';
import {
  applyManifest,
  conditionOf,
  dbm,
  readyWith,
  startController,
  urlSecret,
  waitForStatus,
} from '../support/controller.js';
import { connect, createTestDatabase, tableNames } from '../support/db.js';
import { adminKubectl, testNamespace } from '../support/kube/clients.js';
import { attribute, type OtlpSpan, otlpReceiver } from '../support/otlp.js';

const get = async (ns: string) =>
  JSON.parse(await adminKubectl(['get', 'databasemigration', 'app', '-n', ns, '-o', 'json']));

/**
 * The status the controller writes, read back from the real API server, through the Argo
 * CD health check run by a real Lua interpreter: the fixtures are whatever the controller
 * produced, not hand-written.
 */
describe('GitOps health: kstatus conditions and the Argo CD health check', () => {
  it('Healthy when applied, Degraded when stalled, Progressing while retrying, Suspended when suspended', async () => {
    const ns = await testNamespace();
    const url = await createTestDatabase();
    await applyManifest(ns, urlSecret('app-db', url));
    await startController(['--namespaces', ns, '--resync', '2s']);
    const spec = (extra: Record<string, unknown>) =>
      dbm('app', { database: { urlSecretRef: { name: 'app-db' } }, ...extra });

    await applyManifest(ns, spec({}));
    const applied = await waitForStatus(ns, 'app', readyWith('Applied'));
    expect(conditionOf(applied, 'Reconciling')?.status).toBe('False');
    expect(conditionOf(applied, 'Stalled')?.status).toBe('False');
    expect(argoHealth(await get(ns))).toMatchObject({ status: 'Healthy' });

    // Below the current revision without allowDowngrade: it needs a human.
    await applyManifest(ns, spec({ targetRevision: '972fc63ffb69' }));
    const stalled = await waitForStatus(ns, 'app', readyWith('DowngradeNotAllowed'));
    expect(conditionOf(stalled, 'Stalled')?.status).toBe('True');
    const degraded = argoHealth(await get(ns));
    expect(degraded.status).toBe('Degraded');
    expect(degraded.message).toContain('DowngradeNotAllowed: target 972fc63ffb69');

    // A Secret that is not there yet: retried by the controller, so still in progress.
    await applyManifest(ns, dbm('app', { database: { urlSecretRef: { name: 'not-yet' } } }));
    const retrying = await waitForStatus(ns, 'app', readyWith('SecretNotFound'));
    expect(conditionOf(retrying, 'Reconciling')?.status).toBe('True');
    expect(conditionOf(retrying, 'Stalled')?.status).toBe('False');
    expect(argoHealth(await get(ns))).toMatchObject({ status: 'Progressing' });

    await applyManifest(ns, spec({ suspend: true }));
    await waitForStatus(ns, 'app', readyWith('Suspended'));
    expect(argoHealth(await get(ns))).toMatchObject({ status: 'Suspended' });
  });
});

describe('approval of destructive plans', () => {
  it('waits with the plan in status until the annotation names its hash; another hash does not do', async () => {
    const ns = await testNamespace();
    const url = await createTestDatabase();
    await applyManifest(ns, urlSecret('app-db', url));
    await applyManifest(ns, {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'chain' },
      data: {
        '1.sql': sqlMigration('keep0001', null, 'CREATE TABLE t (id int, note text);', 'DROP TABLE t;'),
        '2.sql': sqlMigration(
          'drop0002',
          'keep0001',
          'ALTER TABLE t DROP COLUMN note;',
          'ALTER TABLE t ADD COLUMN note text;',
        ),
      },
    });
    await startController(['--namespaces', ns]);
    const resource = dbm('app', {
      database: { urlSecretRef: { name: 'app-db' } },
      migrations: { configMapRef: { name: 'chain' } },
      approval: 'Destructive',
    });
    await applyManifest(ns, resource);
    const waiting = await waitForStatus(ns, 'app', readyWith('ApprovalRequired'));
    expect(waiting.plan?.map((p) => [p.revision, p.destructive])).toEqual([
      ['keep0001', false],
      ['drop0002', true],
    ]);
    expect(conditionOf(waiting, 'Ready')?.message).toContain('it may destroy data (drop0002)');
    expect(argoHealth(await get(ns))).toMatchObject({ status: 'Suspended' });
    // Nothing ran: not even the version table was created.
    expect(await tableNames(await connect(url))).toEqual([]);
    const hash = (await get(ns)).status.planHash as string;

    await adminKubectl([
      'annotate',
      'databasemigration',
      'app',
      '-n',
      ns,
      `revisor.dev/approved-plan=${'0'.repeat(64)}`,
    ]);
    const wrong = await waitForStatus(
      ns,
      'app',
      (s) => conditionOf(s, 'Ready')?.message?.includes('another plan') ?? false,
    );
    expect(conditionOf(wrong, 'Ready')?.reason).toBe('ApprovalRequired');

    await adminKubectl([
      'annotate',
      '--overwrite',
      'databasemigration',
      'app',
      '-n',
      ns,
      `revisor.dev/approved-plan=${hash}`,
    ]);
    const applied = await waitForStatus(ns, 'app', readyWith('Applied'));
    expect(applied.currentRevision).toBe('drop0002');
  });
});

describe('approval of plans lint finds risky on this database', () => {
  it("Destructive waits for an index build on a big table, with lint's finding and its cost in status.plan", async () => {
    const ns = await testNamespace();
    const url = await createTestDatabase();
    const chain = {
      '1.sql': sqlMigration('big00001', null, 'CREATE TABLE big (id bigint, note text);', 'DROP TABLE big;'),
      '2.sql': sqlMigration(
        'idx00002',
        'big00001',
        'CREATE INDEX ix_big_note ON big (note);',
        'DROP INDEX ix_big_note;',
      ),
    };
    const db = await connect(url);
    try {
      // The first revision applied already, the table grown and analyzed: what production looks like.
      const dir = await writeChain(chain);
      expect((await runCli(['upgrade', 'big00001', '--migrations', dir], { DATABASE_URL: url })).code).toBe(
        0,
      );
      await db.query("INSERT INTO big SELECT g, 'n' || g FROM generate_series(1, 50000) g");
      await db.query('ANALYZE big');
    } finally {
      await db.end();
    }
    await applyManifest(ns, urlSecret('app-db', url));
    await applyManifest(ns, {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'chain' },
      data: chain,
    });
    await startController(['--namespaces', ns]);
    await applyManifest(
      ns,
      dbm('app', {
        database: { urlSecretRef: { name: 'app-db' } },
        migrations: { configMapRef: { name: 'chain' } },
        approval: 'Destructive',
      }),
    );
    const waiting = await waitForStatus(ns, 'app', readyWith('ApprovalRequired'));
    expect(conditionOf(waiting, 'Ready')?.message).toContain(
      'lint finds what locks or breaks a table of this database (idx00002 create-index-non-concurrent)',
    );
    expect(waiting.plan?.[0]).toMatchObject({ revision: 'idx00002', destructive: false });
    expect(waiting.plan?.[0]?.lint?.[0]?.message).toMatch(
      /builds an index over big \(≈ 50 k rows, [\d.]+ MB\) under SHARE/,
    );
  });
});

describe('controller traces', () => {
  it('a span per reconcile, with the steps under it', async () => {
    const otlp = await otlpReceiver();
    try {
      const ns = await testNamespace();
      const url = await createTestDatabase();
      await applyManifest(ns, urlSecret('app-db', url));
      await startController(['--namespaces', ns], { OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url });
      await applyManifest(ns, dbm('app', { database: { urlSecretRef: { name: 'app-db' } } }));
      await waitForStatus(ns, 'app', readyWith('Applied'));
      const deadline = Date.now() + 20_000;
      let reconcile: OtlpSpan | undefined;
      while (!reconcile && Date.now() < deadline) {
        reconcile = otlp.spans.find(
          (s) =>
            s.name === 'reconcile' &&
            attribute(s, 'revisor.resource') === `${ns}/app` &&
            otlp.spans.some((c) => c.parentSpanId === s.spanId),
        );
        if (!reconcile) await new Promise((r) => setTimeout(r, 500));
      }
      expect(reconcile).toBeDefined();
      const steps = otlp.spans.filter((s) => s.parentSpanId === reconcile!.spanId).map((s) => s.name);
      expect(steps).toEqual(expect.arrayContaining(['upgrade 972fc63ffb69', 'upgrade c0b7d0e366e7']));
    } finally {
      otlp.server.close();
    }
  });
});
