import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import * as k8s from '@kubernetes/client-node';
import pg from 'pg';
import { startEmbedded, stopEmbedded } from '../src/cli/embedded-postgres.js';
import { migratorForSpec } from '../src/controller/migration/spec-migrator.js';
import { specSchema } from '../src/controller/resource.js';
import { loadMigrations, RevisionGraph } from '../src/migrator/index.js';
import { sqlMigration } from '../test/support/cli.js';
import { installCrds, kubectl, repoRoot, startCluster } from '../test/support/kube/cluster.js';
import { shareAgents } from '../test/support/kube/share-agents.js';
import { chartController, createInBatches, spawnController } from './kube-bench.js';
import { bareNodeRssKiB, loadLine, median, procKiB } from './measure.js';

/**
 * npm run bench:fleet -- [N] [--max-parallel P] [--concurrency C]
 *
 * One DatabaseMigrationSet over N tenant databases (a Secret each, selected by label),
 * reconciled by one controller process against the real API server and PostgreSQL: first
 * to revision f1 from empty databases, then to a new target f2. Prints, for each, the time
 * until the set is Ready on it beside the floor of the same migrations run alone (one
 * database's apply, N of them spread on this machine's cores, measured in this run), and the
 * controller's peak and steady RSS beside a bare node process.
 */
const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    'max-parallel': { type: 'string', default: '16' },
    concurrency: { type: 'string' },
  },
});
const count = Number(positionals[0] ?? 500);
const maxParallel = Number(values['max-parallel']);
const resyncSeconds = Math.max(5, Math.ceil(count / 40));
const namespace = 'fleet';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const chain = {
  'f1.sql': sqlMigration(
    'f1',
    null,
    'CREATE TABLE items (id bigint PRIMARY KEY, name text);',
    'DROP TABLE items;',
  ),
  'f2.sql': sqlMigration(
    'f2',
    'f1',
    'ALTER TABLE items ADD COLUMN note text;',
    'ALTER TABLE items DROP COLUMN note;',
  ),
};

const { nodeOptions, maxConcurrent } = await chartController();
const concurrency = Number(values.concurrency ?? maxConcurrent);
const work = await mkdtemp(join(tmpdir(), 'revisor-bench-fleet-'));
await chmod(work, 0o755);
const server = await startEmbedded(join(work, 'pg'), { maxConnections: count + 100 });
const cluster = await startCluster();
const admin = new pg.Client({ connectionString: server.url });
await admin.connect();
const kc = shareAgents(new k8s.KubeConfig());
kc.loadFromFile(cluster.kubeconfig);
const custom = kc.makeApiClient(k8s.CustomObjectsApi);
let controller: Awaited<ReturnType<typeof spawnController>>['child'] | null = null;

interface SetState {
  metadata: { generation: number };
  status?: { observedGeneration?: number; counts?: { Ready: number }; revisions?: { revision: string }[] };
}

async function readyOn(revision: string): Promise<boolean> {
  const set = (await custom.getNamespacedCustomObject({
    group: 'revisor.dev',
    version: 'v1alpha1',
    namespace,
    plural: 'databasemigrationsets',
    name: 'fleet',
  })) as SetState;
  const s = set.status;
  return (
    s?.observedGeneration === set.metadata.generation &&
    s.counts?.Ready === count &&
    s.revisions?.length === 1 &&
    s.revisions[0]?.revision === revision
  );
}

/** One database taken to `revision` alone by the migrator the children use, median of three. */
async function applyFloorMs(graph: RevisionGraph, revision: string, from: string | null): Promise<number> {
  const samples: number[] = [];
  for (let i = 0; i < 3; i++) {
    const name = `floor_${revision}_${i}`;
    await admin.query(`CREATE DATABASE ${name}`);
    const spec = specSchema.parse({ database: { urlSecretRef: { name: 'unused' } } });
    const open = () =>
      migratorForSpec(
        spec,
        { url: server.urlFor(name), applicationName: 'floor', connectTimeoutMs: 5000 },
        graph,
        {},
        {
          executedBy: 'bench',
        },
      );
    if (from) {
      const before = open();
      const result = await before.upgrade(from);
      await before.close();
      if (result.error) throw result.error;
    }
    const migrator = open();
    const started = performance.now();
    const result = await migrator.upgrade(revision);
    samples.push(performance.now() - started);
    await migrator.close();
    if (result.error) throw result.error;
  }
  return median(samples);
}

async function rollOut(revision: string): Promise<number> {
  await custom.patchNamespacedCustomObject(
    {
      group: 'revisor.dev',
      version: 'v1alpha1',
      namespace,
      plural: 'databasemigrationsets',
      name: 'fleet',
      body: { spec: { targetRevision: revision } },
    },
    k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
  );
  const started = performance.now();
  while (!(await readyOn(revision))) {
    if (controller?.exitCode !== null) throw new Error(`the controller exited with ${controller?.exitCode}`);
    if (performance.now() - started > 60 * 60_000) throw new Error(`not Ready on ${revision} after an hour`);
    await sleep(500);
  }
  return performance.now() - started;
}

try {
  await installCrds(cluster.kubeconfig, join(repoRoot, 'deploy/crds'));
  await kubectl(cluster.kubeconfig, ['create', 'namespace', namespace]);
  const dir = join(work, 'chain');
  await mkdir(dir);
  for (const [file, text] of Object.entries(chain)) await writeFile(join(dir, file), text);
  const graph = RevisionGraph.build(await loadMigrations(dir));
  const items: object[] = [{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'chain' }, data: chain }];
  for (let i = 0; i < count; i++) {
    await admin.query(`CREATE DATABASE tenant_${i}`);
    items.push({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: {
        name: `tenant-${String(i).padStart(4, '0')}`,
        labels: { 'revisor.dev/tenant-of': 'fleet' },
        annotations: { 'revisor.dev/allowed-migrations': 'fleet' },
      },
      stringData: { url: server.urlFor(`tenant_${i}`) },
    });
  }
  await createInBatches(cluster.kubeconfig, namespace, items, 500);
  const floors = { f1: await applyFloorMs(graph, 'f1', null), f2: await applyFloorMs(graph, 'f2', 'f1') };
  const nodeFloorKiB = await bareNodeRssKiB();

  const spawned = await spawnController(
    cluster.kubeconfig,
    namespace,
    ['--migration-sets', '--max-concurrent', String(concurrency), '--resync', `${resyncSeconds}s`],
    nodeOptions,
  );
  controller = spawned.child;
  await createInBatches(
    cluster.kubeconfig,
    namespace,
    [
      {
        apiVersion: 'revisor.dev/v1alpha1',
        kind: 'DatabaseMigrationSet',
        metadata: { name: 'fleet' },
        spec: {
          targetRevision: 'f1',
          migrations: { configMapRef: { name: 'chain' } },
          databases: { secretSelector: { matchLabels: { 'revisor.dev/tenant-of': 'fleet' } } },
          rollout: { canary: 1, maxParallel, maxFailures: 1 },
        },
      },
    ],
    1,
  );
  const firstMs = await rollOut('f1');
  const secondMs = await rollOut('f2');
  const peakKiB = procKiB(spawned.child.pid!, 'VmHWM');
  await sleep(2 * resyncSeconds * 1000);
  const steadyKiB = procKiB(spawned.child.pid!, 'VmRSS');

  const cores = availableParallelism();
  const mib = (kib: number) => (kib / 1024).toFixed(1);
  const line = (what: string, ms: number, floor: number) => {
    const floorMs = (count * floor) / cores;
    return `${what.padEnd(34)}${(ms / 1000).toFixed(1)} s (${(ms / floorMs).toFixed(1)}x the floor of ${(floorMs / 1000).toFixed(1)} s: ${floor.toFixed(0)} ms to apply it to one database alone, ${count} of them on ${cores} cores)`;
  };
  const lines = [
    `revisor bench:fleet: one DatabaseMigrationSet over ${count} tenant databases (ConfigMap chain f1, f2), canary 1, ` +
      `maxParallel ${maxParallel}, --max-concurrent ${concurrency}, --resync ${resyncSeconds}s, NODE_OPTIONS ${nodeOptions || '(none)'} (the chart's)`,
    loadLine(),
    line('all Ready on f1 (empty databases)', firstMs, floors.f1),
    line('all Ready on the new target f2', secondMs, floors.f2),
    `controller peak RSS (VmHWM)       ${mib(peakKiB)} MiB (${(peakKiB / nodeFloorKiB).toFixed(1)}x a bare node process, ${mib(nodeFloorKiB)} MiB)`,
    `controller steady RSS (VmRSS)     ${mib(steadyKiB)} MiB after ${2 * resyncSeconds} s of resyncs`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
} finally {
  controller?.kill('SIGTERM');
  await admin.end().catch(() => undefined);
  await cluster.stop().catch((err) => process.stderr.write(`bench: stopping the cluster: ${err}\n`));
  await stopEmbedded(server.dir, { remove: true }).catch((err) =>
    process.stderr.write(`bench: stopping PostgreSQL: ${err}\n`),
  );
  await rm(work, { recursive: true, force: true });
}
