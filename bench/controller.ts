import { execFile, type spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs, promisify } from 'node:util';
import * as k8s from '@kubernetes/client-node';
import pg from 'pg';
import { startEmbedded, stopEmbedded } from '../src/cli/embedded-postgres.js';
import { migratorForSpec } from '../src/controller/migration/spec-migrator.js';
import { specSchema } from '../src/controller/resource.js';
import {
  embeddedMigrationsDir,
  loadMigrations,
  parseSqlMigration,
  RevisionGraph,
} from '../src/migrator/index.js';
import { sqlMigration } from '../test/support/cli.js';
import { FakeKubelet } from '../test/support/fake-kubelet.js';
import { installCrds, kubectl, repoRoot, startCluster } from '../test/support/kube/cluster.js';
import { shareAgents } from '../test/support/kube/share-agents.js';
import { chartController, createInBatches, revisorBin, spawnController } from './kube-bench.js';
import { bareNodeRssKiB, cpuSeconds, histogramQuantile, loadLine, median, procKiB } from './measure.js';

/**
 * npm run bench:controller -- [N] [--runner in-process|jobs] [--noise-secrets K]
 *
 * N DatabaseMigrations, each on a database of its own, reconciled from scratch by one
 * controller process against the real API server and PostgreSQL. Prints the time until all
 * are Ready, the controller's peak and steady RSS, and the no-op reconcile's p50/p99 (the
 * periodic resync of a Ready resource), each beside a floor measured in the same run.
 * --runner jobs gives every resource spec.migrations.image and runs the Jobs with the fake
 * kubelet from test/support (a local process per Job, two at a time: this machine's cores).
 * --noise-secrets K first fills the namespace with K unrelated 400 KB Secrets, like Helm
 * release Secrets, which the controller must not hold in memory. --autovacuum leaves
 * PostgreSQL's autovacuum on (see below why it is off).
 */
const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    runner: { type: 'string', default: 'in-process' },
    'noise-secrets': { type: 'string', default: '0' },
    concurrency: { type: 'string' },
    'max-connections': { type: 'string' },
    share: { type: 'string', default: '1' },
    autovacuum: { type: 'boolean', default: false },
  },
});
const count = Number(positionals[0] ?? process.env['BENCH_RESOURCES'] ?? 100);
const runner = values.runner;
if (runner !== 'in-process' && runner !== 'jobs')
  throw new Error(`--runner is in-process or jobs, not ${runner}`);
const noiseSecrets = Number(values['noise-secrets']);
// --share K: K resources per database, each with a version table of its own and the same
// three-revision ConfigMap chain (statements that touch no shared table), so that N
// resources need N / K databases and PostgreSQL's per-database costs do not bound the run.
const share = Math.max(1, Number(values.share));
const databases = Math.ceil(count / share);
if (share > 1 && runner === 'jobs') throw new Error('--share is for the in-process runner');
const sharedChain = 'bench-chain';
const sharedChainFiles = Object.fromEntries(
  ['s1', 's2', 's3'].map((id, i, all) => [
    `${i + 1}.sql`,
    sqlMigration(id, i === 0 ? null : all[i - 1]!, 'SELECT 1;', 'SELECT 1;'),
  ]),
);
// Room for one idle session per database, as a server dedicated to these databases would
// leave the operator; --max-connections 200 shows a crowded server (the pool makes way).
const maxConnections = Number(values['max-connections'] ?? databases + 100);
// About 40 no-op reconciles a second at any N: the resync a platform would pick for N resources.
const resyncSeconds = Math.max(5, Math.ceil(count / 40));
const floorDatabases = 16;
const image = 'registry.example/bench-app:v1';
const bin = revisorBin;
const namespace = 'bench';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const { nodeOptions, maxConcurrent } = await chartController();
const concurrency = Number(values.concurrency ?? process.env['BENCH_CONCURRENCY'] ?? maxConcurrent);

const work = await mkdtemp(join(tmpdir(), 'revisor-bench-ctl-'));
await chmod(work, 0o755);
const server = await startEmbedded(join(work, 'pg'), { maxConnections });
const cluster = await startCluster();
const admin = new pg.Client({ connectionString: server.url });
await admin.connect();
// The catalog churn of a migration leaves autovacuum about 40-50 ms of PostgreSQL's CPU per
// database over the next two minutes (measured on the embedded chain), and its launcher
// visits each of the N databases once a minute. A rollout longer than that round pays much
// of it inside its window, the floor's few seconds almost none, so the ratio would count
// PostgreSQL's housekeeping as the controller's: autovacuum is off in both windows here,
// unless --autovacuum.
if (!values.autovacuum) {
  await admin.query('ALTER SYSTEM SET autovacuum = off');
  await admin.query('SELECT pg_reload_conf()');
}
const kc = new k8s.KubeConfig();
kc.loadFromFile(cluster.kubeconfig);
shareAgents(kc);
const core = kc.makeApiClient(k8s.CoreV1Api);
const custom = kc.makeApiClient(k8s.CustomObjectsApi);
let controller: ReturnType<typeof spawn> | null = null;
let kubelet: FakeKubelet | null = null;

type Listed = { metadata: { name: string }; status?: { conditions?: { type: string; status: string }[] } };
const isReady = (o: Listed) =>
  o.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true;

/**
 * The resources that are Ready, kept from a watch: one LIST, then each change as the API
 * server sends it to every watcher. The bench polled with a LIST a second before: at 2,000
 * resources that is megabytes of JSON a second for the API server to encode and this
 * process to parse, on the two cores the rollout it times runs on, and it grows with N.
 * A watch that ends (the server's timeout, a lost connection) starts again from a LIST.
 */
function watchReady(): { readonly count: () => number; readonly stop: () => void } {
  const ready = new Map<string, boolean>();
  let stopped = false;
  let current: AbortController | null = null;
  const start = async (): Promise<void> => {
    const list = (await custom.listNamespacedCustomObject({
      group: 'revisor.dev',
      version: 'v1alpha1',
      namespace,
      plural: 'databasemigrations',
    })) as { metadata: { resourceVersion: string }; items: Listed[] };
    ready.clear();
    for (const item of list.items) ready.set(item.metadata.name, isReady(item));
    if (stopped) return;
    current = await new k8s.Watch(kc).watch(
      `/apis/revisor.dev/v1alpha1/namespaces/${namespace}/databasemigrations`,
      { resourceVersion: list.metadata.resourceVersion, allowWatchBookmarks: true },
      (phase: string, item: Listed) => {
        if (phase === 'DELETED') ready.delete(item.metadata.name);
        else if (phase === 'ADDED' || phase === 'MODIFIED') ready.set(item.metadata.name, isReady(item));
      },
      () => {
        if (!stopped) restart();
      },
    );
    // Stopped while the watch was being opened: it is closed now, not left running.
    if (stopped) current.abort();
  };
  const restart = () => {
    start().catch(() => setTimeout(restart, 1000));
  };
  restart();
  return {
    count: () => [...ready.values()].filter(Boolean).length,
    stop: () => {
      stopped = true;
      current?.abort();
    },
  };
}

/** The no-op reconcile's floor: one warm query and one keep-alive API GET, as the controller's best case. */
async function reconcileFloorMs(): Promise<number> {
  const samples: number[] = [];
  for (let i = 0; i < 100; i++) {
    const t = performance.now();
    await admin.query('SELECT 1');
    await core.readNamespacedSecret({ name: 'db-0', namespace });
    samples.push(performance.now() - t);
  }
  return median(samples);
}

/**
 * The rollout's floor: databases brought to head by what the runner runs (the controller's
 * own migrator, or the Job's revisor process) and nothing else, as many at a time as the
 * machine has cores, on the same server beside the bench's databases (so PostgreSQL's
 * background work on them weighs on the floor as on the rollout). Sixteen of them: three
 * alone varied by half from run to run. Returns the time per database; also the time of
 * one alone, printed beside it.
 */
async function applyFloorMs(
  images: Record<string, string>,
  round: 'before' | 'after',
): Promise<{ parallel: number; alone: number; cpu: { runner: number; postgres: number } }> {
  const graph =
    share > 1
      ? RevisionGraph.build(
          Object.entries(sharedChainFiles).map(([file, text]) => parseSqlMigration(text, file)),
        )
      : RevisionGraph.build(await loadMigrations(embeddedMigrationsDir));
  const bringToHead = async (url: string) => {
    if (runner === 'jobs') {
      await promisify(execFile)(process.execPath, [bin, 'upgrade', 'head'], {
        env: { ...process.env, DATABASE_URL: url, REVISOR_MIGRATIONS: images[image] },
      });
      return;
    }
    const spec = specSchema.parse({ database: { urlSecretRef: { name: 'unused' } } });
    const migrator = migratorForSpec(
      spec,
      { url, applicationName: 'bench floor', connectTimeoutMs: 5000 },
      graph,
      {},
      { executedBy: 'bench' },
    );
    const result = await migrator.upgrade('head');
    await migrator.close();
    if (result.error) throw result.error;
  };
  const urls: string[] = [];
  for (let i = 0; i <= floorDatabases; i++) {
    await admin.query(`CREATE DATABASE bench_floor_${round}_${i}`);
    urls.push(server.urlFor(`bench_floor_${round}_${i}`));
  }
  await admin.query('CHECKPOINT');
  let started = performance.now();
  await bringToHead(urls.shift()!);
  const alone = performance.now() - started;
  const cpuBefore = floorCpu();
  started = performance.now();
  await Promise.all(
    Array.from({ length: availableParallelism() }, async () => {
      for (let url = urls.shift(); url; url = urls.shift()) await bringToHead(url);
    }),
  );
  const parallel = (performance.now() - started) / floorDatabases;
  const cpuAfter = floorCpu();
  const perDatabase = (k: 'runner' | 'postgres') => ((cpuAfter[k] - cpuBefore[k]) * 1000) / floorDatabases;
  return { parallel, alone, cpu: { runner: perDatabase('runner'), postgres: perDatabase('postgres') } };
}

/**
 * What the floor's databases cost in CPU, to set beside the rollout's per resource: this
 * process (it runs the migrator in-process, or the Jobs' revisor processes as its children)
 * and PostgreSQL.
 */
const floorCpu = () => ({
  runner: cpuSeconds((c) => c.includes('bench/controller.js')),
  postgres: postgresCpu(),
});

/** PostgreSQL's CPU seconds: its live processes, and its backends that have ended. */
const postgresCpu = () => cpuSeconds((c) => c.startsWith('postgres:') || c.includes(server.dir));

try {
  await installCrds(cluster.kubeconfig, join(repoRoot, 'deploy/crds'));
  await kubectl(cluster.kubeconfig, ['create', 'namespace', namespace]);
  if (noiseSecrets > 0) {
    const noise = Array.from({ length: noiseSecrets }, (_, i) => ({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: `sh.helm.release.v1.noise-${i}.v1`, labels: { owner: 'helm' } },
      type: 'helm.sh/release.v1',
      data: { release: randomBytes(300 * 1024).toString('base64') },
    }));
    await createInBatches(cluster.kubeconfig, namespace, noise, 10);
  }
  const images: Record<string, string> = {};
  if (runner === 'jobs') {
    // The image's chain: three revisions, as the embedded chain the in-process runner uses.
    const dir = join(work, 'image-migrations');
    await mkdir(dir);
    await writeFile(
      join(dir, '1.sql'),
      sqlMigration('b1', null, 'CREATE TABLE a (id int);', 'DROP TABLE a;'),
    );
    await writeFile(
      join(dir, '2.sql'),
      sqlMigration('b2', 'b1', 'CREATE TABLE b (id int);', 'DROP TABLE b;'),
    );
    await writeFile(
      join(dir, '3.sql'),
      sqlMigration('b3', 'b2', 'CREATE TABLE c (id int);', 'DROP TABLE c;'),
    );
    images[image] = dir;
  }
  const items: object[] = [];
  if (share > 1)
    items.push({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: sharedChain },
      data: sharedChainFiles,
    });
  for (let db = 0; db < databases; db++) {
    await admin.query(`CREATE DATABASE bench_${db}`);
    items.push({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { annotations: { 'revisor.dev/allowed-migrations': '*' }, name: `db-${db}` },
      stringData: { url: server.urlFor(`bench_${db}`) },
    });
    if (share > 1) {
      // The tenants' version tables exist from the start: one tenant's creating its own
      // would otherwise be schema drift in every other tenant's recording.
      const tenant = new pg.Client({ connectionString: server.urlFor(`bench_${db}`) });
      await tenant.connect();
      for (let j = 0; j < share; j++)
        await tenant.query(
          `CREATE TABLE v_${j} (version_num varchar(32) NOT NULL, CONSTRAINT v_${j}_pkc PRIMARY KEY (version_num))`,
        );
      await tenant.end();
    }
  }
  for (let i = 0; i < count; i++) {
    const db = Math.floor(i / share);
    items.push({
      apiVersion: 'revisor.dev/v1alpha1',
      kind: 'DatabaseMigration',
      metadata: { name: `app-${i}` },
      spec: {
        database: { urlSecretRef: { name: `db-${db}` } },
        ...(runner === 'jobs' ? { migrations: { image } } : {}),
        ...(share > 1
          ? { migrations: { configMapRef: { name: sharedChain } }, versionTable: { name: `v_${i % share}` } }
          : {}),
      },
    });
  }
  await createInBatches(cluster.kubeconfig, namespace, items, 500);
  // CREATE DATABASE leaves dirty pages whose write-out would land in the rollout's figures.
  await admin.query('CHECKPOINT');
  const floorBeforeMs = await reconcileFloorMs();
  const applyBefore = await applyFloorMs(images, 'before');
  const nodeFloorKiB = await bareNodeRssKiB();

  const cpuOf = (port: number) => ({
    controller: cpuSeconds((c) => c.includes(`--metrics-addr 127.0.0.1:${port}`)),
    apiServer: cpuSeconds((c) => c.includes('kube-apiserver') && c.includes(cluster.dir)),
    etcd: cpuSeconds((c) => c.includes('bin/etcd') && c.includes(cluster.dir)),
    postgres: postgresCpu(),
  });
  const perItem = (before: Record<string, number>, after: Record<string, number>, n: number) =>
    Object.keys(after)
      .map((k) => `${k} ${(((after[k]! - before[k]!) * 1000) / n).toFixed(1)} ms`)
      .join(', ');
  const rolloutCpuBefore = cpuOf(-1);
  const started = performance.now();
  const spawned = await spawnController(
    cluster.kubeconfig,
    namespace,
    // One idle session per database, as a platform with this many databases would set it.
    [
      '--max-concurrent',
      String(concurrency),
      '--resync',
      `${resyncSeconds}s`,
      '--db-max-idle',
      String(Math.max(1000, databases)),
    ],
    nodeOptions,
  );
  controller = spawned.child;
  const { port } = spawned;
  const pid = controller.pid!;
  if (runner === 'jobs') {
    kubelet = new FakeKubelet({ kubeConfig: kc, namespace, revisorBin: bin, images, parallel: 2 }).start();
  }
  const readiness = watchReady();
  let ready = 0;
  try {
    while (ready < count) {
      await sleep(1000);
      if (controller.exitCode !== null) throw new Error(`the controller exited with ${controller.exitCode}`);
      ready = readiness.count();
      if (performance.now() - started > 60 * 60_000)
        throw new Error(`only ${ready}/${count} Ready after an hour`);
    }
  } finally {
    readiness.stop();
  }
  const allReadyMs = performance.now() - started;
  const rolloutPeakKiB = procKiB(pid, 'VmHWM');
  const cpu = () => cpuOf(port);
  const rolloutCpu = perItem({ ...rolloutCpuBefore, controller: 0 }, cpu(), count);

  // One resync period for the rollout's last resyncs to pass (they come due in bursts), then
  // two of nothing but steady no-op reconciles, then the steady RSS.
  await sleep(resyncSeconds * 1000);
  const scrape = async () => (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const cpuBefore = cpu();
  const before = await scrape();
  await sleep(2 * resyncSeconds * 1000 + 2000);
  const after = await scrape();
  const cpuAfter = cpu();
  const noop = histogramQuantile(before, after, 'revisor_reconcile_duration_seconds');
  const steadyKiB = procKiB(pid, 'VmRSS');
  const runPeakKiB = procKiB(pid, 'VmHWM');
  // The floors again, the controller stopped: this machine's speed drifts by half within a
  // run, so the ratios are to the mean of the floor before and the floor after.
  const exited = new Promise((resolve) => controller!.once('exit', resolve));
  controller.kill('SIGTERM');
  await exited;
  const floorAfterMs = await reconcileFloorMs();
  const applyAfter = await applyFloorMs(images, 'after');
  const floorMs = (floorBeforeMs + floorAfterMs) / 2;
  const applyMs = (applyBefore.parallel + applyAfter.parallel) / 2;
  const rolloutFloorMs = count * applyMs;
  const gauge = (name: string) =>
    Number(new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.e+-]+)$`, 'm').exec(after)?.[1] ?? Number.NaN);
  const ms = (s: number) => (s * 1000).toFixed(1);
  const mib = (kib: number) => (kib / 1024).toFixed(1);
  const lines = [
    `revisor bench:controller: ${count} DatabaseMigrations, ${share > 1 ? `${share} to a database (${databases}), each its own version table, a 3-revision ConfigMap chain` : 'each its own database (the embedded chain, 3 revisions)'}, runner ${runner}, ` +
      `--max-concurrent ${concurrency}${values.concurrency || process.env['BENCH_CONCURRENCY'] ? '' : " (the chart's)"}, --resync ${resyncSeconds}s, ${noiseSecrets} unrelated 400 KB Secrets, PostgreSQL max_connections ${maxConnections}, autovacuum ${values.autovacuum ? 'on' : 'off'}, NODE_OPTIONS ${nodeOptions || '(none)'} (the chart's)`,
    loadLine(),
    `all Ready from controller start   ${(allReadyMs / 1000).toFixed(1)} s (${(allReadyMs / count).toFixed(0)} ms per resource; ` +
      `${(allReadyMs / rolloutFloorMs).toFixed(1)}x the floor of ${(rolloutFloorMs / 1000).toFixed(1)} s: ` +
      `${floorDatabases} databases brought to head by the runner's code alone, ${availableParallelism()} at a time, ` +
      `${applyBefore.parallel.toFixed(0)} ms each before the controller ran and ${applyAfter.parallel.toFixed(0)} ms after, ` +
      `times ${count}; one alone took ${applyBefore.alone.toFixed(0)} ms)`,
    `  CPU until all Ready, per resource: ${rolloutCpu}`,
    `  the floor's CPU per database: runner ${((applyBefore.cpu.runner + applyAfter.cpu.runner) / 2).toFixed(1)} ms, ` +
      `postgres ${((applyBefore.cpu.postgres + applyAfter.cpu.postgres) / 2).toFixed(1)} ms`,
    `controller peak RSS (VmHWM)       ${mib(rolloutPeakKiB)} MiB until all Ready, ${mib(runPeakKiB)} MiB over the whole run (${(runPeakKiB / nodeFloorKiB).toFixed(1)}x a bare node process, ${mib(nodeFloorKiB)} MiB)`,
    `controller steady RSS (VmRSS)     ${mib(steadyKiB)} MiB after ${3 * resyncSeconds + 2} s of resyncs (${(steadyKiB / nodeFloorKiB).toFixed(1)}x the bare node process)`,
    `no-op reconcile p50 / p99         ${ms(noop.quantile(0.5))} / ${ms(noop.quantile(0.99))} ms, mean ${ms(noop.mean)} ms over ${noop.count} reconciles` +
      ` (${(noop.quantile(0.5) / (floorMs / 1000)).toFixed(1)}x / ${(noop.quantile(0.99) / (floorMs / 1000)).toFixed(1)}x the floor of one warm SELECT 1 + one keep-alive API GET, ` +
      `${floorBeforeMs.toFixed(1)} ms before and ${floorAfterMs.toFixed(1)} ms after)`,
    `  over 10 / 25 / 50 ms: ${[0.01, 0.025, 0.05].map((le) => `${(noop.shareAbove(le) * 100).toFixed(1)}%`).join(' / ')} of them`,
    `  of which V8 heap used / total ${mib(gauge('nodejs_heap_size_used_bytes') / 1024)} / ${mib(gauge('nodejs_heap_size_total_bytes') / 1024)} MiB, ` +
      `external ${mib(gauge('nodejs_external_memory_bytes') / 1024)} MiB`,
    `  CPU over those resyncs, per reconcile: ${perItem(cpuBefore, cpuAfter, noop.count)}`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
} finally {
  // Each step on its own: one failing must not leave the others' processes running.
  controller?.kill('SIGTERM');
  await kubelet?.stop();
  await admin.end().catch(() => undefined);
  await cluster.stop().catch((err) => process.stderr.write(`bench: stopping the cluster: ${err}\n`));
  await stopEmbedded(server.dir, { remove: true }).catch((err) =>
    process.stderr.write(`bench: stopping PostgreSQL: ${err}\n`),
  );
  await rm(work, { recursive: true, force: true });
}
