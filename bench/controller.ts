import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { freePort, startEmbedded, stopEmbedded } from '../src/cli/embedded-postgres.js';
import { installCrds, kubectl, repoRoot, startCluster } from '../test/support/kube/cluster.js';

/**
 * npm run bench:controller [-- N]: N DatabaseMigrations, each on a database of its own,
 * reconciled from scratch by one controller process against the real API server and
 * PostgreSQL: time until all are Ready, the controller's peak memory, and the mean
 * latency of a no-op reconcile (the periodic resync of a Ready resource).
 */
const count = Number(process.argv[2] ?? process.env['BENCH_RESOURCES'] ?? 100);
const concurrency = Number(process.env['BENCH_CONCURRENCY'] ?? 8);
const bin = fileURLToPath(new URL('../../bin/revisor.js', import.meta.url));

const work = await mkdtemp(join(tmpdir(), 'revisor-bench-ctl-'));
await chmod(work, 0o755);
const server = await startEmbedded(join(work, 'pg'));
const cluster = await startCluster();
const admin = new pg.Client({ connectionString: server.url });
await admin.connect();
let controller: ReturnType<typeof spawn> | null = null;

const metricValue = (text: string, name: string) =>
  Number(new RegExp(`^${name} ([0-9.e+-]+)$`, 'm').exec(text)?.[1] ?? Number.NaN);

try {
  await installCrds(cluster.kubeconfig, join(repoRoot, 'deploy/crds'));
  await kubectl(cluster.kubeconfig, ['create', 'namespace', 'bench']);
  const items: object[] = [];
  for (let i = 0; i < count; i++) {
    await admin.query(`CREATE DATABASE bench_${i}`);
    items.push(
      {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { annotations: { 'revisor.dev/allowed-migrations': '*' }, name: `db-${i}` },
        stringData: { url: server.urlFor(`bench_${i}`) },
      },
      {
        apiVersion: 'revisor.dev/v1alpha1',
        kind: 'DatabaseMigration',
        metadata: { name: `app-${i}` },
        spec: { database: { urlSecretRef: { name: `db-${i}` } } },
      },
    );
  }
  await kubectl(
    cluster.kubeconfig,
    ['apply', '-n', 'bench', '-f', '-'],
    JSON.stringify({ apiVersion: 'v1', kind: 'List', items }),
  );

  const port = await freePort();
  const started = performance.now();
  controller = spawn(
    process.execPath,
    [
      bin,
      'controller',
      '--namespaces',
      'bench',
      '--max-concurrent',
      String(concurrency),
      '--resync',
      '5s',
      '--metrics-addr',
      `127.0.0.1:${port}`,
    ],
    { env: { ...process.env, KUBECONFIG: cluster.kubeconfig, REVISOR_LOG_LEVEL: 'warn' }, stdio: 'ignore' },
  );
  const peakKiB = () =>
    Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${controller!.pid}/status`, 'utf8'))?.[1] ?? 0);
  let ready = 0;
  while (ready < count) {
    await new Promise((r) => setTimeout(r, 500));
    const list = JSON.parse(await kubectl(cluster.kubeconfig, ['get', 'dbm', '-n', 'bench', '-o', 'json']));
    ready = list.items.filter((o: { status?: { conditions?: { type: string; status: string }[] } }) =>
      o.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'),
    ).length;
    if (performance.now() - started > 30 * 60_000)
      throw new Error(`only ${ready}/${count} Ready after 30 minutes`);
  }
  const allReadyMs = performance.now() - started;

  const scrape = async () => (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const before = await scrape();
  await new Promise((r) => setTimeout(r, 12_000));
  const after = await scrape();
  const sum =
    metricValue(after, 'revisor_reconcile_duration_seconds_sum') -
    metricValue(before, 'revisor_reconcile_duration_seconds_sum');
  const n =
    metricValue(after, 'revisor_reconcile_duration_seconds_count') -
    metricValue(before, 'revisor_reconcile_duration_seconds_count');
  const lines = [
    `revisor bench:controller: ${count} DatabaseMigrations, each its own database (3 revisions), --max-concurrent ${concurrency}`,
    `all Ready from controller start      ${(allReadyMs / 1000).toFixed(1)} s   (${(allReadyMs / count).toFixed(0)} ms per resource)`,
    `controller peak RSS (VmHWM)          ${(peakKiB() / 1024).toFixed(1)} MiB`,
    `no-op reconcile (resync), mean       ${n > 0 ? ((sum / n) * 1000).toFixed(1) : 'n/a'} ms over ${n} reconciles`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
} finally {
  // Each step on its own: one failing must not leave the others' processes running.
  controller?.kill('SIGTERM');
  await admin.end().catch(() => undefined);
  await cluster.stop().catch((err) => process.stderr.write(`bench: stopping the cluster: ${err}\n`));
  await stopEmbedded(server.dir, { remove: true }).catch((err) =>
    process.stderr.write(`bench: stopping PostgreSQL: ${err}\n`),
  );
  await rm(work, { recursive: true, force: true });
}
