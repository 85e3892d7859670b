import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { onTestFinished } from 'vitest';
import { freePort } from '../../src/cli/embedded-postgres.js';
import { repoRoot } from './cli.js';
import { adminKubectl, kubeconfigPath } from './kube/clients.js';

export interface RunningController {
  readonly child: ChildProcess;
  readonly metricsUrl: string;
  logs(): string;
  exited: Promise<number | null>;
  metrics(): Promise<string>;
}

/** `revisor controller` as a process of its own, watching the given namespaces. */
export async function startController(
  args: string[],
  env: Record<string, string> = {},
): Promise<RunningController> {
  const port = await freePort();
  const child = spawn(
    process.execPath,
    [join(repoRoot, 'bin/revisor.js'), 'controller', '--metrics-addr', `127.0.0.1:${port}`, ...args],
    {
      env: {
        PATH: process.env['PATH'] ?? '',
        HOME: process.env['HOME'] ?? '/tmp',
        KUBECONFIG: kubeconfigPath(),
        REVISOR_LOG_FORMAT: 'json',
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  onTestFinished(async () => {
    if (child.exitCode === null) {
      child.kill('SIGKILL');
      await exited;
    }
  });
  const metricsUrl = `http://127.0.0.1:${port}/metrics`;
  const deadline = Date.now() + 20_000;
  for (;;) {
    const up = await fetch(`http://127.0.0.1:${port}/healthz`).then(
      (r) => r.ok,
      () => false,
    );
    if (up) break;
    if (child.exitCode !== null || Date.now() > deadline)
      throw new Error(`controller did not start:\n${output}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    child,
    metricsUrl,
    logs: () => output,
    exited,
    metrics: async () => (await fetch(metricsUrl)).text(),
  };
}

export interface DbmStatus {
  currentRevision?: string;
  targetRevision?: string;
  pendingRevisions?: string[];
  lastAppliedRevision?: string;
  failedRevision?: string;
  attempts?: number;
  observedGeneration?: number;
  steps?: { revision: string; direction: string; outcome: string }[];
  plan?: {
    revision: string;
    direction: string;
    sql: string;
    destructive?: boolean;
    lint?: { rule: string; severity: string; message: string }[];
  }[];
  planHash?: string;
  lastBackup?: { files: string[]; time: string };
  conditions?: { type: string; status: string; reason: string; message: string }[];
}

export async function getDbm(
  namespace: string,
  name: string,
): Promise<{ metadata: { generation: number }; status?: DbmStatus }> {
  return JSON.parse(await adminKubectl(['get', 'databasemigration', name, '-n', namespace, '-o', 'json']));
}

export const conditionOf = (status: DbmStatus | undefined, type: string) =>
  status?.conditions?.find((c) => c.type === type);

/** Polls the resource until `predicate` holds; the last status is in the error otherwise. */
export async function waitForStatus(
  namespace: string,
  name: string,
  predicate: (status: DbmStatus | undefined, generation: number) => boolean,
  timeoutMs = 60_000,
): Promise<DbmStatus> {
  const deadline = Date.now() + timeoutMs;
  let last: DbmStatus | undefined;
  while (Date.now() < deadline) {
    const dbm = await getDbm(namespace, name);
    last = dbm.status;
    if (predicate(last, dbm.metadata.generation)) return last!;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(
    `timed out waiting for ${namespace}/${name}; last status: ${JSON.stringify(last, null, 2)}`,
  );
}

export const readyWith = (reason: string) => (s: DbmStatus | undefined) =>
  conditionOf(s, 'Ready')?.reason === reason;

export async function applyManifest(namespace: string, manifest: object): Promise<void> {
  await adminKubectl(['apply', '-n', namespace, '-f', '-'], JSON.stringify(manifest));
}

export function dbm(name: string, spec: Record<string, unknown>) {
  return { apiVersion: 'revisor.dev/v1alpha1', kind: 'DatabaseMigration', metadata: { name }, spec };
}

/** A migration chain as a ConfigMap (spec.migrations.configMapRef). */
export function configMapChain(name: string, files: Record<string, string>) {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name }, data: files };
}

/** A Secret holding a database URL, opted in for every DatabaseMigration of its namespace unless `allowed` says otherwise. */
export function urlSecret(name: string, url: string, allowed = '*') {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name, annotations: { 'revisor.dev/allowed-migrations': allowed } },
    stringData: { url },
  };
}

export async function events(
  namespace: string,
): Promise<{ reason: string; type: string; message: string }[]> {
  const list = JSON.parse(await adminKubectl(['get', 'events', '-n', namespace, '-o', 'json']));
  return list.items.map((e: { reason: string; type: string; message: string }) => ({
    reason: e.reason,
    type: e.type,
    message: e.message,
  }));
}
