import pg from 'pg';
import { expect, it } from 'vitest';
import { sqlMigration } from '../support/cli.js';
import {
  applicationImage,
  apply,
  describeOnNode,
  getJson,
  installOperator,
  namespace,
  nodeDatabase,
  nodeKubectl,
  podReport,
  pods,
  readyCondition,
  until,
} from './support.js';

type Resource = {
  status?: {
    currentRevision?: string;
    lastRun?: { phase: string; logTail?: string; errorCode?: string; job: string };
    conditions?: { type: string; status: string; reason: string; message: string }[];
  };
};

const recording = (revision: string, down: string | null, extra = '') =>
  sqlMigration(
    revision,
    down,
    `${down === null ? 'CREATE TABLE ran (revision text PRIMARY KEY);\n' : ''}INSERT INTO ran VALUES ('${revision}');${extra}`,
    down === null ? 'DROP TABLE ran;' : `DELETE FROM ran WHERE revision = '${revision}';`,
  );

async function ranRows(url: string): Promise<string[]> {
  const db = new pg.Client({ connectionString: url });
  await db.connect();
  try {
    const { rows } = await db.query<{ revision: string }>('SELECT revision FROM ran ORDER BY revision');
    return rows.map((r) => r.revision);
  } finally {
    await db.end();
  }
}

const secret = (url: string) => ({
  apiVersion: 'v1',
  kind: 'Secret',
  metadata: { name: 'app-db', annotations: { 'revisor.dev/allowed-migrations': '*' } },
  stringData: { url },
});
const migration = (name: string, spec: Record<string, unknown>) => ({
  apiVersion: 'revisor.dev/v1alpha1',
  kind: 'DatabaseMigration',
  metadata: { name },
  spec: {
    database: { urlSecretRef: { name: 'app-db' } },
    retry: { initialBackoffSeconds: 2, maxBackoffSeconds: 4 },
    ...spec,
  },
});
const status = (ns: string, name: string) => getJson<Resource>(ns, 'databasemigration', name);

describeOnNode('migrations as Jobs from the application image, on a real node', () => {
  it('runs the Job from an image built FROM revisor; a failing migration is Degraded with the real pod log tail', async () => {
    const ns = await namespace('jobs');
    await installOperator(ns);
    const url = await nodeDatabase();
    await apply(ns, secret(url));
    const good = await applicationImage('good', {
      '1.sql': recording('a1', null),
      '2.sql': recording('a2', 'a1'),
    });
    await apply(ns, migration('app', { migrations: { image: good } }));
    const done = await until(
      'app Ready from its Job',
      async () => {
        const s = await status(ns, 'app');
        return readyCondition(s)?.status === 'True' && s.status?.currentRevision === 'a2' ? s : undefined;
      },
      180_000,
      () => podReport(ns),
    );
    expect(done.status?.lastRun?.phase).toBe('Succeeded');
    expect(await ranRows(url)).toEqual(['a1', 'a2']);

    const bad = await applicationImage('bad', {
      '1.sql': recording('a1', null),
      '2.sql': recording('a2', 'a1'),
      '3.sql': sqlMigration('a3', 'a2', 'SELECT 1/0;', 'SELECT 1;'),
    });
    await apply(ns, migration('app', { migrations: { image: bad } }));
    const failed = await until(
      'app Degraded with the log tail',
      async () => {
        const s = await status(ns, 'app');
        return s.status?.lastRun?.phase === 'Failed' && s.status.lastRun.logTail ? s : undefined;
      },
      180_000,
      () => podReport(ns),
    );
    // The tail is the real container's termination message (FallbackToLogsOnError).
    expect(failed.status?.lastRun?.logTail).toContain('division by zero');
    expect(failed.status?.lastRun?.errorCode).toBe('MigrationFailed');
    expect(failed.status?.conditions?.find((c) => c.type === 'Degraded')).toMatchObject({ status: 'True' });
    expect(await ranRows(url)).toEqual(['a1', 'a2']);
  });

  it('a Job pod deleted mid-run leaves nothing half-applied, and the run is retried to the end', async () => {
    const ns = await namespace('lost');
    await installOperator(ns);
    const url = await nodeDatabase();
    await apply(ns, secret(url));
    const slow = await applicationImage('slow', {
      '1.sql': recording('s1', null),
      '2.sql': recording('s2', 's1', '\nSELECT pg_sleep(8);'),
      '3.sql': recording('s3', 's2'),
    });
    await apply(ns, migration('app', { migrations: { image: slow } }));
    const pod = await until(
      'the Job pod running s2',
      async () => {
        const jobPods = await pods(ns, 'app.kubernetes.io/managed-by=revisor');
        const running = jobPods.find((p) => p.status.phase === 'Running');
        if (!running) return undefined;
        const db = new pg.Client({ connectionString: url });
        await db.connect();
        const sleeping = (
          await db.query(
            "SELECT 1 FROM pg_stat_activity WHERE wait_event = 'PgSleep' AND datname = current_database()",
          )
        ).rowCount;
        await db.end();
        return sleeping ? running : undefined;
      },
      180_000,
      () => podReport(ns),
    );
    await nodeKubectl(['delete', 'pod', '-n', ns, pod.metadata.name, '--wait=false']);
    const done = await until(
      'app Ready after the lost Job',
      async () => {
        const s = await status(ns, 'app');
        return readyCondition(s)?.status === 'True' && s.status?.currentRevision === 's3' ? s : undefined;
      },
      240_000,
      () => podReport(ns),
    );
    expect(done.status?.lastRun?.job).not.toBe(pod.metadata.name.replace(/-[a-z0-9]{5}$/, ''));
    expect(await ranRows(url)).toEqual(['s1', 's2', 's3']);
    const db = new pg.Client({ connectionString: url });
    await db.connect();
    const applied = await db.query<{ revision: string; n: number }>(
      "SELECT revision, count(*)::int AS n FROM revisor_history WHERE outcome = 'applied' GROUP BY revision ORDER BY revision",
    );
    await db.end();
    expect(applied.rows).toEqual([
      { revision: 's1', n: 1 },
      { revision: 's2', n: 1 },
      { revision: 's3', n: 1 },
    ]);
  });

  it('the post-deploy gate waits for a real Deployment to roll out', async () => {
    const ns = await namespace('gate');
    await installOperator(ns, ['--set', 'operator.rolloutGates=true']);
    const url = await nodeDatabase();
    await apply(ns, secret(url));
    await apply(ns, {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'chain' },
      data: {
        '1.sql': recording('g1', null),
        '2.sql': recording('g2', 'g1').replace(
          '-- migrate:upgrade',
          '-- phase: post-deploy\n-- migrate:upgrade',
        ),
      },
    });
    const web = (image: string, ready: boolean) => ({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web' },
      spec: {
        replicas: 1,
        selector: { matchLabels: { app: 'web' } },
        template: {
          metadata: { labels: { app: 'web' } },
          spec: {
            securityContext: { runAsNonRoot: true, runAsUser: 10001 },
            containers: [
              {
                name: 'web',
                image,
                imagePullPolicy: 'Never',
                command: ['node', '-e', 'setInterval(() => {}, 1 << 30)'],
                readinessProbe: { exec: { command: ready ? ['true'] : ['false'] }, periodSeconds: 1 },
              },
            ],
          },
        },
      },
    });
    const image = (
      await getJson<{ spec: { template: { spec: { containers: { image: string }[] } } } }>(
        ns,
        'deployment',
        'revisor',
      )
    ).spec.template.spec.containers[0]!.image;
    // The new version's pods never become ready: its rollout does not finish.
    await apply(ns, web(image, false));
    await apply(
      ns,
      migration('app', {
        migrations: { configMapRef: { name: 'chain' } },
        postDeploy: { after: { kind: 'Deployment', name: 'web' } },
      }),
    );
    const waiting = await until(
      'WaitingForRollout',
      async () => {
        const s = await status(ns, 'app');
        return s.status?.conditions?.find((c) => c.reason === 'WaitingForRollout') ? s : undefined;
      },
      120_000,
      () => podReport(ns),
    );
    expect(waiting.status?.currentRevision).toBe('g1');
    expect(await ranRows(url)).toEqual(['g1']);
    // A version whose pods become ready: the rollout finishes, and the post-deploy step runs.
    await apply(ns, web(image, true));
    await until(
      'the post-deploy revision applied',
      async () => {
        const s = await status(ns, 'app');
        return readyCondition(s)?.status === 'True' && s.status?.currentRevision === 'g2' ? s : undefined;
      },
      180_000,
      () => podReport(ns),
    );
    expect(await ranRows(url)).toEqual(['g1', 'g2']);
  });

  it('a DatabaseMigrationSet of 20 tenants runs Jobs on the node; deleting the set removes its children through the garbage collector', async () => {
    const ns = await namespace('fleet');
    await installOperator(ns, ['--set', 'operator.migrationSets=true']);
    const image = await applicationImage('fleet', {
      '1.sql': recording('f1', null),
      '2.sql': recording('f2', 'f1'),
    });
    const urls = await Promise.all(Array.from({ length: 20 }, () => nodeDatabase()));
    await apply(ns, {
      apiVersion: 'v1',
      kind: 'List',
      items: urls.map((url, i) => ({
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: {
          name: `tenant-${i}`,
          labels: { tier: 'tenant' },
          annotations: { 'revisor.dev/allowed-migrations': 'shop' },
        },
        stringData: { url },
      })),
    });
    await apply(ns, {
      apiVersion: 'revisor.dev/v1alpha1',
      kind: 'DatabaseMigrationSet',
      metadata: { name: 'shop' },
      spec: {
        targetRevision: 'head',
        migrations: { image },
        databases: { secretSelector: { matchLabels: { tier: 'tenant' } } },
        rollout: { canary: 1, maxParallel: 4 },
      },
    });
    await until(
      'all 20 tenants Ready',
      async () => {
        const set = await getJson<{
          status?: {
            conditions?: { type: string; status: string; reason: string }[];
            counts?: Record<string, number>;
          };
        }>(ns, 'databasemigrationset', 'shop');
        const ready = set.status?.conditions?.find((c) => c.type === 'Ready');
        return ready?.status === 'True' && ready.reason === 'Applied' ? set : undefined;
      },
      600_000,
      () => podReport(ns),
    );
    for (const url of urls) expect(await ranRows(url)).toEqual(['f1', 'f2']);
    const children = () =>
      nodeKubectl(['get', 'databasemigrations', '-n', ns, '-l', 'revisor.dev/set=shop', '-o', 'name']).then(
        (out) => out.split('\n').filter(Boolean),
      );
    expect(await children()).toHaveLength(20);
    await nodeKubectl(['delete', 'databasemigrationset', 'shop', '-n', ns, '--wait=false']);
    await until(
      'the children gone',
      async () => ((await children()).length === 0 ? true : undefined),
      120_000,
    );
  }, 900_000);
});
