import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { repoRoot, sqlMigration, writeChain } from '../support/cli.js';
import {
  applyManifest,
  conditionOf,
  type DbmStatus,
  dbm,
  events,
  getDbm,
  readyWith,
  startController,
  urlSecret,
  waitForStatus,
} from '../support/controller.js';
import { connect, createTestDatabase, versionRows } from '../support/db.js';
import { FakeKubelet } from '../support/fake-kubelet.js';
import { adminConfig, adminKubectl, testNamespace } from '../support/kube/clients.js';

type LastRun = {
  job: string;
  phase: string;
  attempt: number;
  image: string;
  exitCode?: number;
  errorCode?: string;
  logTail?: string;
};
const lastRun = (s: DbmStatus | undefined) => (s as { lastRun?: LastRun } | undefined)?.lastRun;

const chainV1 = {
  '1.sql': sqlMigration('aaa111', null, 'CREATE TABLE first (id int);', 'DROP TABLE first;'),
  '2.sql': sqlMigration('bbb222', 'aaa111', 'CREATE TABLE second (id int);', 'DROP TABLE second;'),
};

/** A chain whose one step sleeps first: long enough to act while its Job runs. */
const slowChain = (seconds: number) => ({
  '1.sql': sqlMigration(
    'aaa111',
    null,
    `SELECT pg_sleep(${seconds}); CREATE TABLE first (id int);`,
    'DROP TABLE first;',
  ),
});

/** A namespace, a database and its Secret, a fake kubelet knowing `images`, and a controller. */
async function setup(images: Record<string, Record<string, string>>, controllerArgs: string[] = []) {
  const ns = await testNamespace();
  const url = await createTestDatabase();
  const dirs: Record<string, string> = {};
  for (const [image, chain] of Object.entries(images)) dirs[image] = await writeChain(chain);
  const k = kubelet(ns, dirs);
  await applyManifest(ns, urlSecret('app-db', url));
  await startController(['--namespaces', ns, ...controllerArgs]);
  return { ns, url, k, password: new URL(url).password };
}

function kubelet(namespace: string, images: Record<string, string>): FakeKubelet {
  const k = new FakeKubelet({
    kubeConfig: adminConfig(),
    namespace,
    revisorBin: join(repoRoot, 'bin/revisor.js'),
    images,
  }).start();
  onTestFinished(() => k.stop());
  return k;
}

async function jobs(ns: string): Promise<Record<string, unknown>[]> {
  return JSON.parse(await adminKubectl(['get', 'jobs', '-n', ns, '-o', 'json'])).items;
}

const imageSpec = (image: string, extra: Record<string, unknown> = {}) => ({
  database: { urlSecretRef: { name: 'app-db' } },
  migrations: { image },
  ...extra,
});

describe('migrations run as Jobs from the application image (fake kubelet)', () => {
  it('runs one Job that upgrades the database, with nothing secret in its spec; a resync runs none', async () => {
    const { ns, url, password } = await setup({ 'registry.example/app:v1': chainV1 }, ['--resync', '1s']);
    await applyManifest(ns, dbm('app', imageSpec('registry.example/app:v1')));

    const status = await waitForStatus(ns, 'app', readyWith('Applied'), 60_000);
    expect(status.currentRevision).toBe('bbb222');
    expect(lastRun(status)).toMatchObject({
      phase: 'Succeeded',
      attempt: 1,
      image: 'registry.example/app:v1',
    });
    expect(status.steps?.map((s) => [s.revision, s.outcome])).toEqual([
      ['aaa111', 'applied'],
      ['bbb222', 'applied'],
    ]);
    expect(await versionRows(await connect(url))).toEqual(['bbb222']);

    const [job] = await jobs(ns);
    const text = JSON.stringify(job);
    expect(text).not.toContain(url);
    expect(text).not.toContain(password);
    const spec = (job as { spec: Record<string, unknown> }).spec as {
      backoffLimit: number;
      activeDeadlineSeconds: number;
      ttlSecondsAfterFinished: number;
      template: { spec: Record<string, unknown> & { containers: Record<string, unknown>[] } };
    };
    expect(spec.backoffLimit).toBe(0);
    expect(spec.activeDeadlineSeconds).toBe(3600);
    expect(spec.ttlSecondsAfterFinished).toBe(86_400);
    expect(spec.template.spec['securityContext']).toEqual({
      runAsNonRoot: true,
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(spec.template.spec['automountServiceAccountToken']).toBe(false);
    const container = spec.template.spec.containers[0]!;
    expect(container['args']).toEqual(['upgrade', 'head']);
    expect(container['env']).toContainEqual({
      name: 'DATABASE_URL',
      valueFrom: { secretKeyRef: { name: 'app-db', key: 'url' } },
    });
    expect(container['securityContext']).toMatchObject({
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
    });
    const owner = (job as { metadata: { ownerReferences: { kind: string; uid: string }[] } }).metadata
      .ownerReferences[0]!;
    const resource = JSON.parse(await adminKubectl(['get', 'dbm', 'app', '-n', ns, '-o', 'json']));
    expect(owner).toMatchObject({ kind: 'DatabaseMigration', uid: resource.metadata.uid });

    // Resyncs (every second here) read the heads and find nothing to do: no second Job.
    await new Promise((r) => setTimeout(r, 3000));
    expect(await jobs(ns)).toHaveLength(1);
    expect(conditionOf((await getDbm(ns, 'app')).status, 'Ready')?.status).toBe('True');
  });

  it('keeps the redacted log tail of a failed Job in status and an Event, then a fixed image goes Ready', async () => {
    const broken = {
      ...chainV1,
      '2.sql': sqlMigration('bbb222', 'aaa111', 'CREATE TABLE second (id int, oops);', 'DROP TABLE second;'),
    };
    const { ns, password } = await setup({
      'registry.example/app:broken': broken,
      'registry.example/app:fixed': chainV1,
    });
    await applyManifest(ns, dbm('app', imageSpec('registry.example/app:broken')));

    const failed = await waitForStatus(ns, 'app', readyWith('MigrationFailed'), 60_000);
    const run = lastRun(failed)!;
    expect(run).toMatchObject({ phase: 'Failed', exitCode: 24, errorCode: 'MigrationFailed' });
    expect(run.logTail).toContain('[MigrationFailed]');
    expect(run.logTail).toContain('bbb222');
    expect(JSON.stringify(failed)).not.toContain(password);
    expect(failed.currentRevision).toBe('aaa111');
    expect(failed.failedRevision).toBe('bbb222');
    expect(conditionOf(failed, 'Ready')?.message).toContain(
      `Job ${run.job} failed (exit 24, MigrationFailed)`,
    );
    const jobFailed = (await events(ns)).find((e) => e.reason === 'JobFailed');
    expect(jobFailed?.message).toContain('[MigrationFailed]');
    expect(jobFailed?.message).not.toContain(password);

    await applyManifest(ns, dbm('app', imageSpec('registry.example/app:fixed')));
    const fixed = await waitForStatus(ns, 'app', readyWith('Applied'), 60_000);
    expect(fixed.currentRevision).toBe('bbb222');
    expect(lastRun(fixed)).toMatchObject({ phase: 'Succeeded', image: 'registry.example/app:fixed' });
  });

  it('runs a new Job when the running one is deleted', async () => {
    const { ns, url, k } = await setup({ 'registry.example/app:slow': slowChain(4) });
    await applyManifest(
      ns,
      dbm('app', imageSpec('registry.example/app:slow', { retry: { initialBackoffSeconds: 1 } })),
    );

    const running = await waitForStatus(
      ns,
      'app',
      (s) => lastRun(s)?.phase === 'Running' && k.started.length === 1,
    );
    await adminKubectl(['delete', 'job', lastRun(running)!.job, '-n', ns]);
    await waitForStatus(ns, 'app', readyWith('JobLost'), 30_000);
    const done = await waitForStatus(ns, 'app', readyWith('Applied'), 60_000);
    expect(lastRun(done)).toMatchObject({ phase: 'Succeeded', attempt: 2 });
    expect(k.started).toHaveLength(2);
    expect(await versionRows(await connect(url))).toEqual(['aaa111']);
    expect((await events(ns)).some((e) => e.reason === 'JobLost')).toBe(true);
  });

  it('runs one Job at a time on a database that two resources share', async () => {
    const { ns, k } = await setup({ 'registry.example/app:v1': slowChain(2) });
    await applyManifest(ns, dbm('one', imageSpec('registry.example/app:v1')));
    await waitForStatus(ns, 'one', (s) => lastRun(s)?.phase === 'Running');
    await applyManifest(ns, dbm('two', imageSpec('registry.example/app:v1')));
    const waiting = await waitForStatus(ns, 'two', readyWith('WaitingForJob'), 30_000);
    expect(conditionOf(waiting, 'Ready')?.message).toContain(lastRun((await getDbm(ns, 'one')).status)!.job);
    await waitForStatus(ns, 'one', readyWith('Applied'), 60_000);
    const two = await waitForStatus(ns, 'two', readyWith('Applied'), 60_000);
    expect(two.currentRevision).toBe('aaa111');
    const overlaps = k.runs.filter((a) =>
      k.runs.some(
        (b) => a !== b && a.startedAt < (b.endedAt ?? Infinity) && b.startedAt < (a.endedAt ?? Infinity),
      ),
    );
    expect(k.runs).toHaveLength(2);
    expect(overlaps).toEqual([]);
  });
});
