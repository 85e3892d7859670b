import { describe, expect, it } from 'vitest';
import { runCli, sqlMigration } from '../support/cli.js';
import {
  applyManifest,
  conditionOf,
  configMapChain,
  dbm,
  events,
  readyWith,
  startController,
  urlSecret,
  waitForStatus,
} from '../support/controller.js';
import { adminUrl, connect, createTestDatabase, tableNames, versionRows } from '../support/db.js';
import { expandContractChain } from '../support/fixtures.js';
import { adminKubectl, testNamespace } from '../support/kube/clients.js';

const head = 'c0b7d0e366e7';

/**
 * A namespace and a database of this test's own, the Secret naming it, a controller
 * watching the namespace, and DatabaseMigration "app"; with `chain`, its migrations come
 * from ConfigMap "chain".
 */
async function setup(
  options: { spec?: Record<string, unknown>; chain?: Record<string, string>; controllerArgs?: string[] } = {},
) {
  const ns = await testNamespace();
  const url = await createTestDatabase();
  await applyManifest(ns, urlSecret('app-db', url));
  if (options.chain) await applyManifest(ns, configMapChain('chain', options.chain));
  const controller = await startController([
    '--namespaces',
    ns,
    ...(options.controllerArgs ?? ['--resync', '2s']),
  ]);
  const migrations = options.chain ? { migrations: { configMapRef: { name: 'chain' } } } : {};
  await applyManifest(
    ns,
    dbm('app', { database: { urlSecretRef: { name: 'app-db' } }, ...migrations, ...options.spec }),
  );
  return { ns, url, controller };
}

describe('the controller reconciles DatabaseMigrations on a real API server and database', () => {
  it('takes a new resource to Ready at head, with status, Events, printer columns and metrics', async () => {
    const { ns, url, controller } = await setup();
    const status = await waitForStatus(ns, 'app', readyWith('Applied'));
    expect(status.currentRevision).toBe(head);
    expect(status.targetRevision).toBe(head);
    expect(status.pendingRevisions).toEqual([]);
    expect(status.lastAppliedRevision).toBe(head);
    expect(status.observedGeneration).toBe(1);
    expect(status.steps?.map((s) => `${s.direction}:${s.revision}:${s.outcome}`)).toEqual([
      'upgrade:972fc63ffb69:applied',
      'upgrade:567cc0f251e5:applied',
      `upgrade:${head}:applied`,
    ]);
    expect(conditionOf(status, 'Progressing')?.status).toBe('False');
    expect(conditionOf(status, 'Degraded')?.status).toBe('False');
    expect(conditionOf(status, 'Drifted')?.status).toBe('False');
    expect(await versionRows(await connect(url))).toEqual([head]);

    const columns = await adminKubectl(['get', 'dbm', 'app', '-n', ns]);
    expect(columns).toMatch(/NAME\s+TARGET\s+CURRENT\s+READY\s+REASON\s+AGE/);
    expect(columns).toMatch(new RegExp(`app\\s+head\\s+${head}\\s+True\\s+Applied`));

    const applied = (await events(ns)).filter((e) => e.reason === 'Applied');
    expect(applied.map((e) => e.message)).toEqual([
      `upgrade base -> ${head}: 3 step(s) applied; the database is at ${head}`,
    ]);

    const metrics = await controller.metrics();
    expect(metrics).toContain(
      `revisor_migrations_applied_total{namespace="${ns}",name="app",direction="upgrade",result="success"} 3`,
    );
    expect(metrics).toContain(
      `revisor_current_revision_info{namespace="${ns}",name="app",revision="${head}"} 1`,
    );
    expect(metrics).toContain(`revisor_pending_migrations{namespace="${ns}",name="app"} 0`);
    expect(metrics).toMatch(/revisor_reconcile_total\{result="ready"\} \d+/);
    expect(metrics).toMatch(/^revisor_leader 1$/m);
    expect(metrics).toContain('process_resident_memory_bytes');
    expect(JSON.stringify(status) + (await events(ns)).map((e) => e.message).join('\n')).not.toContain(
      new URL(url).password,
    );
  });

  it('refuses a target below the current revision without allowDowngrade, and applies it with', async () => {
    const { ns, url } = await setup();
    await waitForStatus(ns, 'app', readyWith('Applied'));
    await applyManifest(
      ns,
      dbm('app', { database: { urlSecretRef: { name: 'app-db' } }, targetRevision: '567cc0f251e5' }),
    );
    const refused = await waitForStatus(ns, 'app', readyWith('DowngradeNotAllowed'));
    expect(conditionOf(refused, 'Degraded')).toMatchObject({ status: 'True', reason: 'DowngradeNotAllowed' });
    expect(conditionOf(refused, 'Ready')?.message).toContain('allowDowngrade');
    const db = await connect(url);
    expect(await versionRows(db)).toEqual([head]);

    await applyManifest(
      ns,
      dbm('app', {
        database: { urlSecretRef: { name: 'app-db' } },
        targetRevision: '567cc0f251e5',
        allowDowngrade: true,
      }),
    );
    const applied = await waitForStatus(
      ns,
      'app',
      (s, gen) => readyWith('Applied')(s) && s?.observedGeneration === gen,
    );
    expect(applied.currentRevision).toBe('567cc0f251e5');
    expect(await versionRows(db)).toEqual(['567cc0f251e5']);
  });

  it('plans a dry run into status and leaves the database untouched', async () => {
    const { ns, url } = await setup({ spec: { dryRun: true } });
    const status = await waitForStatus(ns, 'app', readyWith('DryRun'));
    expect(status.pendingRevisions).toEqual(['972fc63ffb69', '567cc0f251e5', head]);
    expect(status.plan?.map((p) => p.revision)).toEqual(['972fc63ffb69', '567cc0f251e5', head]);
    expect(status.plan?.[0]?.sql).toContain('CREATE TABLE organizations');
    expect(await tableNames(await connect(url))).toEqual([]);
  });

  it('reports a missing Secret, then goes Ready once it is created', async () => {
    const ns = await testNamespace();
    const url = await createTestDatabase();
    await startController(['--namespaces', ns]);
    await applyManifest(ns, dbm('app', { database: { urlSecretRef: { name: 'late-db' } } }));
    const missing = await waitForStatus(ns, 'app', readyWith('SecretNotFound'));
    expect(conditionOf(missing, 'Ready')?.message).toContain(`Secret ${ns}/late-db does not exist`);
    await applyManifest(ns, urlSecret('late-db', url));
    await waitForStatus(ns, 'app', readyWith('Applied'), 30_000);
  });

  it('reports bad credentials as ConnectionFailed without leaking the password', async () => {
    const ns = await testNamespace();
    const bad = new URL(adminUrl());
    bad.password = 'wrong-password-xyz';
    await applyManifest(ns, urlSecret('app-db', bad.toString()));
    await startController(['--namespaces', ns]);
    await applyManifest(ns, dbm('app', { database: { urlSecretRef: { name: 'app-db' } } }));
    const status = await waitForStatus(ns, 'app', readyWith('ConnectionFailed'));
    expect(conditionOf(status, 'Degraded')?.status).toBe('True');
    expect(conditionOf(status, 'Ready')?.message).toContain('retrying in');
    expect(JSON.stringify(status) + JSON.stringify(await events(ns))).not.toContain('wrong-password-xyz');
  });

  it('goes Degraded on a failing migration, with an Event, a metric and backoff, then Ready once the chain is fixed', async () => {
    const good = sqlMigration('aaa111', null, 'CREATE TABLE first (id int);', 'DROP TABLE first;');
    const { ns, url, controller } = await setup({
      chain: {
        '1.sql': good,
        '2.sql': sqlMigration(
          'bbb222',
          'aaa111',
          'CREATE TABLE second (id int);\nSELECT 1/0;',
          'DROP TABLE second;',
        ),
      },
      spec: { retry: { initialBackoffSeconds: 1, maxBackoffSeconds: 2 } },
      controllerArgs: [],
    });
    const failed = await waitForStatus(
      ns,
      'app',
      (s) => readyWith('MigrationFailed')(s) && (s?.attempts ?? 0) >= 2,
    );
    expect(failed.failedRevision).toBe('bbb222');
    expect(failed.currentRevision).toBe('aaa111');
    expect(conditionOf(failed, 'Degraded')?.message).toContain('division by zero');
    expect((await events(ns)).some((e) => e.type === 'Warning' && e.reason === 'MigrationFailed')).toBe(true);
    expect(await controller.metrics()).toContain(
      `revisor_migrations_applied_total{namespace="${ns}",name="app",direction="upgrade",result="failure"}`,
    );
    expect(await tableNames(await connect(url))).not.toContain('second');

    await applyManifest(
      ns,
      configMapChain('chain', {
        '1.sql': good,
        '2.sql': sqlMigration('bbb222', 'aaa111', 'CREATE TABLE second (id int);', 'DROP TABLE second;'),
      }),
    );
    const fixed = await waitForStatus(ns, 'app', readyWith('Applied'), 30_000);
    expect(fixed.currentRevision).toBe('bbb222');
    expect(fixed.attempts).toBe(0);
  });

  it('keeps a labelled branch at its head (targetRevision label@head) and leaves the other branch alone', async () => {
    const { ns, url } = await setup({
      chain: {
        '1.sql': sqlMigration('core0001', null, 'CREATE TABLE core (id int);', 'DROP TABLE core;'),
        '2.sql': sqlMigration('bill0001', null, 'CREATE TABLE bill (id int);', 'DROP TABLE bill;', {
          branchLabels: ['billing'],
        }),
        '3.sql': sqlMigration('bill0002', 'bill0001', 'CREATE TABLE bill2 (id int);', 'DROP TABLE bill2;'),
      },
      spec: { targetRevision: 'billing@head' },
    });
    const status = await waitForStatus(ns, 'app', readyWith('Applied'));
    expect(status.currentRevision).toBe('bill0002');
    const tables = await tableNames(await connect(url));
    expect(tables).toContain('bill2');
    expect(tables).not.toContain('core');
  });

  it('holds post-deploy revisions until the Deployment has rolled out (its status as the API server holds it)', async () => {
    const { ns, url } = await setup({
      chain: expandContractChain(),
      spec: { postDeploy: { after: { kind: 'Deployment', name: 'web', image: 'registry.example/web:2' } } },
    });
    await applyManifest(ns, {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web' },
      spec: {
        replicas: 2,
        selector: { matchLabels: { app: 'web' } },
        template: {
          metadata: { labels: { app: 'web' } },
          spec: { containers: [{ name: 'web', image: 'registry.example/web:2' }] },
        },
      },
    });
    // No kube-controller-manager runs here: the Deployment's status stays empty until this
    // test writes it, as the Deployment controller would once the pods are up.
    const waiting = await waitForStatus(
      ns,
      'app',
      (s) => conditionOf(s, 'Progressing')?.reason === 'WaitingForRollout',
      30_000,
    );
    expect(conditionOf(waiting, 'Progressing')?.message).toContain(
      'post-deploy revision(s) contract wait for the rollout',
    );
    expect(await versionRows(await connect(url))).toEqual(['expand01']);
    const generation = JSON.parse(await adminKubectl(['get', 'deployment', 'web', '-n', ns, '-o', 'json']))
      .metadata.generation;
    await adminKubectl([
      'patch',
      'deployment',
      'web',
      '-n',
      ns,
      '--subresource=status',
      '--type=merge',
      '-p',
      JSON.stringify({
        status: {
          observedGeneration: generation,
          replicas: 2,
          updatedReplicas: 2,
          availableReplicas: 2,
          readyReplicas: 2,
        },
      }),
    ]);
    const done = await waitForStatus(
      ns,
      'app',
      (s) => readyWith('Applied')(s) && s?.currentRevision === 'contract',
      30_000,
    );
    expect(done.pendingRevisions).toEqual([]);
  });

  it('has invalid specs rejected by the API server', async () => {
    const ns = await testNamespace();
    const apply = (spec: Record<string, unknown>) =>
      adminKubectl(['apply', '-n', ns, '-f', '-'], JSON.stringify(dbm('bad', spec)));
    await expect(
      apply({ database: { urlSecretRef: { name: 'x' } }, targetRevision: 'base' }),
    ).rejects.toThrow(/needs allowDowngrade/);
    await expect(
      apply({ database: { urlSecretRef: { name: 'x' } }, targetRevision: 'no spaces!' }),
    ).rejects.toThrow(/spec\.targetRevision/);
    await expect(
      apply({
        database: { urlSecretRef: { name: 'x' } },
        targetRevision: 'billing@base',
        allowDowngrade: true,
      }),
    ).rejects.toThrow(/label@base is a downgrade command/);
    await expect(apply({ database: {} })).rejects.toThrow(/exactly one of urlSecretRef or host/);
    await expect(apply({ database: { host: 'db' } })).rejects.toThrow(/credentialsSecretRef/);
    await expect(apply({ database: { urlSecretRef: { name: 'x' } }, lockWaitSeconds: -1 })).rejects.toThrow(
      /lockWaitSeconds/,
    );
  });

  it('detects a revision changed outside the operator as Drifted', async () => {
    const { ns, url } = await setup();
    await waitForStatus(ns, 'app', readyWith('Applied'));
    expect((await runCli(['downgrade', '-1'], { DATABASE_URL: url })).code).toBe(0);
    const drifted = await waitForStatus(
      ns,
      'app',
      (s) => conditionOf(s, 'Drifted')?.status === 'True',
      30_000,
    );
    expect(conditionOf(drifted, 'Drifted')?.reason).toBe('OutOfBandChange');
    expect(drifted.currentRevision).toBe('567cc0f251e5');
    expect(await versionRows(await connect(url))).toEqual(['567cc0f251e5']);
  });

  it('reports a column dropped by hand as SchemaDrift, and with drift.action Block holds the next migration back', async () => {
    const first = sqlMigration('aaa111', null, 'CREATE TABLE one (id int, note text);', 'DROP TABLE one;');
    // Checked on every resync (2s) instead of every 300s, the default.
    const { ns, url, controller } = await setup({
      chain: { '1.sql': first },
      spec: { drift: { action: 'Report', intervalSeconds: 0 } },
    });
    await waitForStatus(ns, 'app', readyWith('Applied'));
    const db = await connect(url);
    await db.query('ALTER TABLE one DROP COLUMN note');
    const drifted = await waitForStatus(
      ns,
      'app',
      (s) => conditionOf(s, 'Drifted')?.reason === 'SchemaDrift',
      30_000,
    );
    expect(conditionOf(drifted, 'Ready')?.status).toBe('True');
    expect(conditionOf(drifted, 'Drifted')?.message).toContain('- column public.one.note text');
    expect(await controller.metrics()).toContain(
      `revisor_schema_drift_objects{namespace="${ns}",name="app"} 1`,
    );
    expect((await events(ns)).some((e) => e.reason === 'SchemaDrift' && e.type === 'Warning')).toBe(true);

    await applyManifest(
      ns,
      dbm('app', {
        database: { urlSecretRef: { name: 'app-db' } },
        migrations: { configMapRef: { name: 'chain' } },
        drift: { action: 'Block', intervalSeconds: 0 },
      }),
    );
    await applyManifest(
      ns,
      configMapChain('chain', {
        '1.sql': first,
        '2.sql': sqlMigration('bbb222', 'aaa111', 'CREATE TABLE two (id int);', 'DROP TABLE two;'),
      }),
    );
    const blocked = await waitForStatus(ns, 'app', readyWith('DriftBlocked'), 30_000);
    expect(conditionOf(blocked, 'Ready')?.message).toContain('1 step(s) held back by drift.action Block');
    expect(await versionRows(db)).toEqual(['aaa111']);

    // Undone by hand, the drift clears and the held migration runs.
    await db.query('ALTER TABLE one ADD COLUMN note text');
    const applied = await waitForStatus(
      ns,
      'app',
      (s) => readyWith('Applied')(s) && s?.currentRevision === 'bbb222',
      30_000,
    );
    expect(conditionOf(applied, 'Drifted')?.status).toBe('False');
    await db.end();
  });

  it('is not left Progressing when its status conflicts during an apply', async () => {
    const { ns } = await setup({
      chain: {
        '1.sql': sqlMigration(
          'aaa111',
          null,
          'CREATE TABLE one (id int);\nSELECT pg_sleep(1.5);',
          'DROP TABLE one;',
        ),
        '2.sql': sqlMigration(
          'bbb222',
          'aaa111',
          'CREATE TABLE two (id int);\nSELECT pg_sleep(1.5);',
          'DROP TABLE two;',
        ),
      },
      controllerArgs: [],
    });
    await waitForStatus(ns, 'app', readyWith('Migrating'));
    for (let i = 0; i < 5; i++) {
      await adminKubectl(['label', 'dbm', 'app', '-n', ns, `touch=${i}`, '--overwrite']);
      await new Promise((r) => setTimeout(r, 300));
    }
    const status = await waitForStatus(ns, 'app', readyWith('Applied'), 30_000);
    expect(status.currentRevision).toBe('bbb222');
    expect(conditionOf(status, 'Progressing')?.status).toBe('False');
    // A run that goes on for a second announces its start, as its Migrating status.
    const reasons = (await events(ns)).map((e) => e.reason);
    expect(reasons).toContain('Started');
    expect(reasons).toContain('Applied');
  });

  it('leaves the database consistent and no lock held when stopped by SIGTERM mid-migration', async () => {
    const { url, controller } = await setup({
      chain: {
        '1.sql': sqlMigration('aaa111', null, 'CREATE TABLE one (id int);', 'DROP TABLE one;'),
        '2.sql': sqlMigration(
          'bbb222',
          'aaa111',
          'CREATE TABLE two (id int);\nSELECT pg_sleep(2);',
          'DROP TABLE two;',
        ),
        '3.sql': sqlMigration('ccc333', 'bbb222', 'CREATE TABLE three (id int);', 'DROP TABLE three;'),
      },
      controllerArgs: ['--shutdown-grace', '10s'],
    });
    const db = await connect(url);
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      const { rows } = await db.query(
        "SELECT count(*)::int AS n FROM pg_stat_activity WHERE wait_event = 'PgSleep' AND datname = current_database()",
      );
      if (rows[0].n > 0) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    controller.child.kill('SIGTERM');
    expect(await controller.exited).toBe(0);
    // The running script finished (the sleeping step, and the step after it when the two
    // went to the server together); the schema matches the version row either way.
    const [head] = await versionRows(db);
    const tablesAt: Record<string, string[]> = {
      bbb222: ['alembic_version', 'one', 'revisor_history', 'two'],
      ccc333: ['alembic_version', 'one', 'revisor_history', 'three', 'two'],
    };
    expect(Object.keys(tablesAt)).toContain(head);
    expect(await tableNames(db)).toEqual(tablesAt[head!]);
    const { rows } = await db.query("SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory'");
    expect(rows[0].n).toBe(0);
    expect(controller.logs()).toContain('controller stopped');
  });
});
