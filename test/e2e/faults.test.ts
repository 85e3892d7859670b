import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Socket, connect as tcpConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it, onTestFinished } from 'vitest';
import { freePort, startEmbedded, stopEmbedded } from '../../src/cli/embedded-postgres.js';
import { repoRoot, sqlMigration, writeChain } from '../support/cli.js';
import { configMapChain, type DbmStatus, dbm, startController, urlSecret } from '../support/controller.js';
import { FakeKubelet } from '../support/fake-kubelet.js';
import { type Cluster, installCrds, kubectl, startCluster } from '../support/kube/cluster.js';
import { testDir } from '../support/temp-dir.js';

/**
 * Faults while migrations run, as a property: the API server (with etcd) gone for longer
 * than the lease and the client's timeouts, an API server slower than the client's
 * timeout, the database stopped mid-step. After each, the same controller process still
 * runs (or, having chosen to exit, says why and is restarted), every resource ends Ready
 * at its target, and each step ran once. The controller runs under Node's default
 * --unhandled-rejections=throw, so no rejection can hide.
 */

/** Three steps of a few seconds each: each INSERT shows whether its step ran twice. */
const slowChain = (seconds: number) => {
  const step = (rev: string, down: string | null, n: number) =>
    sqlMigration(
      rev,
      down,
      `${n === 1 ? 'CREATE TABLE marks (step int NOT NULL);\n' : ''}INSERT INTO marks VALUES (${n});\nSELECT pg_sleep(${seconds});`,
      n === 1 ? 'DROP TABLE marks;' : `DELETE FROM marks WHERE step = ${n};`,
    );
  return {
    '1.sql': step('f0a001', null, 1),
    '2.sql': step('f0a002', 'f0a001', 2),
    '3.sql': step('f0a003', 'f0a002', 3),
  };
};
const head = 'f0a003';

let cluster: Cluster;
let namespaceCount = 0;

beforeAll(async () => {
  cluster = await startCluster();
  await installCrds(cluster.kubeconfig, join(repoRoot, 'deploy/crds'));
}, 180_000);
afterAll(async () => cluster?.stop());

const kube = (args: string[], input?: string) => kubectl(cluster.kubeconfig, args, input);
const applyIn = (ns: string, manifest: object) =>
  kube(['apply', '-n', ns, '-f', '-'], JSON.stringify(manifest));
/** The resource every scenario migrates: the app-db Secret's database, the slow ConfigMap chain. */
const slowResource = (extra: Record<string, unknown> = {}) =>
  dbm('app', {
    database: { urlSecretRef: { name: 'app-db' } },
    migrations: { configMapRef: { name: 'chain' } },
    ...extra,
  });

async function namespace(): Promise<string> {
  const name = `fault-${++namespaceCount}`;
  await kube(['create', 'namespace', name]);
  return name;
}

/** A database of its own on `server`, and the Secret naming it. */
async function database(adminUrl: string, ns: string): Promise<string> {
  const name = `fault_${ns.replace(/-/g, '_')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  await applyIn(ns, urlSecret('app-db', url.toString()));
  return url.toString();
}

async function status(ns: string, name: string): Promise<DbmStatus | undefined> {
  return JSON.parse(await kube(['get', 'databasemigration', name, '-n', ns, '-o', 'json'])).status;
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
}

const readyAt = async (ns: string, name: string, target: string, timeoutMs = 120_000) =>
  until(
    `${ns}/${name} Ready at ${target}`,
    async () => {
      const s = await status(ns, name);
      const ready = s?.conditions?.find((c) => c.type === 'Ready');
      return ready?.status === 'True' && s?.currentRevision === target ? s : undefined;
    },
    timeoutMs,
  );

/** Each step applied once: one INSERT per step, one applied history row per revision. */
async function eachStepOnce(url: string): Promise<void> {
  const db = new pg.Client({ connectionString: url });
  await db.connect();
  try {
    const marks = await db.query<{ step: number }>('SELECT step FROM marks ORDER BY step');
    expect(marks.rows.map((r) => r.step)).toEqual([1, 2, 3]);
    const history = await db.query<{ revision: string; outcome: string }>(
      "SELECT revision, outcome FROM revisor_history WHERE direction = 'upgrade' ORDER BY id",
    );
    const applied = history.rows.filter((r) => r.outcome === 'applied').map((r) => r.revision);
    expect(applied).toEqual(['f0a001', 'f0a002', 'f0a003']);
  } finally {
    await db.end();
  }
}

async function sleepingSteps(url: string): Promise<number> {
  const db = new pg.Client({ connectionString: url });
  await db.connect();
  try {
    const { rowCount } = await db.query(
      "SELECT 1 FROM pg_stat_activity WHERE wait_event = 'PgSleep' AND datname = current_database()",
    );
    return rowCount ?? 0;
  } finally {
    await db.end();
  }
}

const whileStepRuns = (url: string) =>
  until('a step mid-run', async () => ((await sleepingSteps(url)) > 0 ? true : undefined), 60_000);

async function controller(ns: string, extra: string[] = [], kubeconfig = cluster.kubeconfig) {
  return startController(['--namespaces', ns, '--api-timeout', '2s', ...extra], { KUBECONFIG: kubeconfig });
}

/** The tier's PostgreSQL (test/support/postgres-global.ts). */
const sharedPostgres = () => inject('adminDatabaseUrl');

describe('the controller through faults', () => {
  it('the API server and etcd gone for 20 s mid-step: the same process carries on, in-process and with a migration Job', async () => {
    const ns = await namespace();
    const inProcessUrl = await database(sharedPostgres(), ns);
    await applyIn(ns, configMapChain('chain', slowChain(3)));
    const jobsNs = await namespace();
    const jobUrl = await database(sharedPostgres(), jobsNs);
    const kc = new k8s.KubeConfig();
    kc.loadFromFile(cluster.kubeconfig);
    const kubelet = new FakeKubelet({
      kubeConfig: kc,
      namespace: jobsNs,
      revisorBin: join(repoRoot, 'bin/revisor.js'),
      images: { 'app:v1': await writeChain(slowChain(3)) },
    }).start();
    onTestFinished(() => kubelet.stop());

    const running = await controller(`${ns},${jobsNs}`);
    await applyIn(ns, slowResource());
    await kube(
      ['apply', '-n', jobsNs, '-f', '-'],
      JSON.stringify(
        dbm('app', { database: { urlSecretRef: { name: 'app-db' } }, migrations: { image: 'app:v1' } }),
      ),
    );
    await whileStepRuns(inProcessUrl);
    await whileStepRuns(jobUrl);

    await cluster.controlPlane.stop();
    await new Promise((r) => setTimeout(r, 20_000));
    expect(running.child.exitCode, running.logs().slice(-3000)).toBeNull();
    await cluster.controlPlane.start();

    await readyAt(ns, 'app', head);
    await readyAt(jobsNs, 'app', head);
    expect(running.child.exitCode, running.logs().slice(-3000)).toBeNull();
    await eachStepOnce(inProcessUrl);
    await eachStepOnce(jobUrl);
    // The outage was reported as the API server's, never as the database's.
    expect(running.logs()).toContain('the API server could not be reached');
    expect(running.logs()).not.toContain('ConnectionFailed');
  }, 240_000);

  it('the database stopped mid-step and started again: Ready at the target, each step once', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'revisor-fault-pg-'));
    onTestFinished(async () => {
      await stopEmbedded(join(dir, 'data'), { remove: true }).catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
    });
    await chmod(dir, 0o755);
    const server = await startEmbedded(join(dir, 'data'));
    const ns = await namespace();
    const url = await database(server.url, ns);
    await applyIn(ns, configMapChain('chain', slowChain(3)));
    const running = await controller(ns, ['--connect-timeout', '2s']);
    await applyIn(ns, slowResource({ retry: { initialBackoffSeconds: 1, maxBackoffSeconds: 4 } }));
    await whileStepRuns(url);
    await stopEmbedded(join(dir, 'data'));
    await new Promise((r) => setTimeout(r, 5_000));
    await startEmbedded(join(dir, 'data'));
    await readyAt(ns, 'app', head);
    expect(running.child.exitCode).toBeNull();
    await eachStepOnce(url);
  }, 240_000);

  it('an API server slower than --api-timeout: requests give up and retry, and it ends Ready once it answers', async () => {
    const proxy = await delayingProxy(Number(new URL(cluster.server).port));
    onTestFinished(() => proxy.close());
    const kubeconfig = join(await testDir('revisor-fault-kc-'), 'kubeconfig');
    const config = JSON.parse(await readFile(cluster.kubeconfig, 'utf8'));
    config.clusters[0].cluster.server = `https://127.0.0.1:${proxy.port}`;
    await writeFile(kubeconfig, JSON.stringify(config));

    const ns = await namespace();
    const url = await database(sharedPostgres(), ns);
    await applyIn(ns, configMapChain('chain', slowChain(2)));
    const running = await controller(ns, [], kubeconfig);
    await applyIn(ns, slowResource());
    await whileStepRuns(url);
    proxy.delayMs = 5_000;
    await new Promise((r) => setTimeout(r, 15_000));
    proxy.delayMs = 0;
    await readyAt(ns, 'app', head);
    expect(running.child.exitCode).toBeNull();
    expect(running.logs()).toMatch(/could not be reached \((AbortError|TimeoutError|aborted)/);
    await eachStepOnce(url);
  }, 240_000);

  it('with leader election, an outage longer than the lease: the controller steps down and says why; restarted, it finishes', async () => {
    const ns = await namespace();
    const url = await database(sharedPostgres(), ns);
    await applyIn(ns, configMapChain('chain', slowChain(3)));
    const elect = [
      '--leader-elect',
      '--leader-elect-namespace',
      ns,
      '--lease-duration',
      '6s',
      '--renew-deadline',
      '4s',
      '--retry-period',
      '1s',
    ];
    const first = await controller(ns, elect);
    await applyIn(ns, slowResource());
    await whileStepRuns(url);
    await cluster.controlPlane.stop();
    const code = await Promise.race([
      first.exited,
      new Promise((r) => setTimeout(() => r('running'), 40_000)),
    ]);
    await cluster.controlPlane.start();
    // It chose to exit, non-zero, and said why.
    expect(code).toBe(1);
    expect(first.logs()).toContain('lost the leader lease');
    const second = await controller(ns, elect);
    await readyAt(ns, 'app', head);
    expect(second.child.exitCode).toBeNull();
    await eachStepOnce(url);
  }, 240_000);
});

/** A TCP proxy to the API server whose answers can be held back by `delayMs`. */
async function delayingProxy(target: number) {
  const sockets = new Set<Socket>();
  const state = { delayMs: 0 };
  const server = createServer((client) => {
    const upstream = tcpConnect(target, '127.0.0.1');
    sockets.add(client).add(upstream);
    client.on('data', (d) => upstream.write(d));
    upstream.on('data', (d) => {
      if (state.delayMs === 0) client.write(d);
      else setTimeout(() => client.writable && client.write(d), state.delayMs);
    });
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
  });
  const port = await freePort();
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', () => r()));
  return {
    port,
    get delayMs() {
      return state.delayMs;
    },
    set delayMs(ms: number) {
      state.delayMs = ms;
    },
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}
