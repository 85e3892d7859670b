import { execFile as execFileCb } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { describe, inject, onTestFinished } from 'vitest';
import { binary, kubectl, repoRoot } from '../support/kube/cluster.js';
import { importImageInto, nodeSubnet } from '../support/kube/node.js';
import { testDir } from '../support/temp-dir.js';

const execFile = promisify(execFileCb);

/** The node tier's tests, or one skipped test that says why the node cannot start here. */
export const describeOnNode = (name: string, body: () => void) => {
  const why = inject('nodeUnavailable');
  if (why) describe.skip(`${name} (skipped: ${why})`, body);
  else describe(name, body);
};

export const nodeKubectl = (args: readonly string[], input?: string) =>
  kubectl(inject('nodeKubeconfig'), args, input);

export async function helm(args: readonly string[]): Promise<string> {
  const { stdout } = await execFile(binary('helm'), [`--kubeconfig=${inject('nodeKubeconfig')}`, ...args], {
    maxBuffer: 16 << 20,
  });
  return stdout;
}

/** The image split as the chart's image.repository and image.tag take it. */
export function imageParts(image = inject('nodeImage')): { repository: string; tag: string } {
  const at = image.lastIndexOf(':');
  return { repository: image.slice(0, at), tag: image.slice(at + 1) };
}

/** Pods reach the API server on the bridge, not through a Service (there is no kube-proxy). */
export const apiServerEnv = () => [
  { name: 'KUBERNETES_SERVICE_HOST', value: nodeSubnet.gateway },
  { name: 'KUBERNETES_SERVICE_PORT', value: String(inject('nodeApiPort')) },
];

export async function namespace(prefix = 'n'): Promise<string> {
  const name = `${prefix}-${randomBytes(4).toString('hex')}`;
  await nodeKubectl(['create', 'namespace', name]);
  onTestFinished(async () => {
    await nodeKubectl(['delete', 'namespace', name, '--wait=false']).catch(() => undefined);
  });
  return name;
}

/** A database of this test's own on the node tier's PostgreSQL; its URL as pods reach it. */
export async function nodeDatabase(): Promise<string> {
  const name = `n_${randomBytes(5).toString('hex')}`;
  const admin = new pg.Client({ connectionString: inject('nodeDatabaseUrl') });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(inject('nodeDatabaseUrl'));
  url.pathname = `/${name}`;
  return url.toString();
}

export async function apply(ns: string, manifest: object): Promise<void> {
  await nodeKubectl(['apply', '-n', ns, '-f', '-'], JSON.stringify(manifest));
}

export async function getJson<T = Record<string, unknown>>(
  ns: string,
  kind: string,
  name: string,
): Promise<T> {
  return JSON.parse(await nodeKubectl(['get', kind, name, '-n', ns, '-o', 'json'])) as T;
}

/** What a namespace's pods and Events say: attached to a timeout, so a failure on the node explains itself. */
export async function podReport(ns: string): Promise<string> {
  const parts = await Promise.all([
    nodeKubectl(['get', 'pods,jobs', '-n', ns, '-o', 'wide']).catch((e) => String(e)),
    nodeKubectl(['get', 'events', '-n', ns, '--sort-by=.lastTimestamp']).catch((e) => String(e)),
    nodeKubectl([
      'logs',
      '-n',
      ns,
      '--all-containers',
      '--prefix',
      '--tail=30',
      '-l',
      'app.kubernetes.io/name',
    ]).catch((e) => String(e)),
  ]);
  return parts.join('\n');
}

export async function until<T>(
  what: string,
  probe: () => Promise<T | undefined | false>,
  timeoutMs = 120_000,
  explain?: () => Promise<string>,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== undefined && value !== false) return value;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
  const report = explain ? `\n${await explain().catch((e) => String(e))}` : '';
  throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}${report}`);
}

export const readyCondition = (resource: {
  status?: { conditions?: { type: string; status: string; reason: string; message: string }[] };
}) => resource.status?.conditions?.find((c) => c.type === 'Ready');

/**
 * The operator, installed by its chart into `ns` with the built image, watching `ns` only;
 * resolves with its pod once it is Ready.
 */
export async function installOperator(ns: string, extra: string[] = []): Promise<Pod> {
  const { repository, tag } = imageParts();
  await helm([
    'install',
    'revisor',
    join(repoRoot, 'deploy/helm/revisor'),
    '-n',
    ns,
    '--skip-crds',
    '--set-json',
    `image=${JSON.stringify({ repository, tag, pullPolicy: 'Never' })}`,
    '--set-json',
    `operator.extraEnv=${JSON.stringify(apiServerEnv())}`,
    '--set-json',
    `operator.watchNamespaces=${JSON.stringify([ns])}`,
    '--set-json',
    `operator.resources=${JSON.stringify({ requests: { cpu: '10m', memory: '64Mi' }, limits: { memory: '384Mi' } })}`,
    '--set',
    'operator.resync=10s',
    ...extra,
  ]);
  return until(
    'the operator pod Ready',
    async () =>
      (await pods(ns, 'app.kubernetes.io/component=operator')).find((p) =>
        p.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'),
      ),
    120_000,
    () => podReport(ns),
  );
}

export interface Pod {
  metadata: { name: string };
  status: { podIP?: string; phase: string; conditions?: { type: string; status: string }[] };
  spec: { containers: { securityContext?: Record<string, unknown> }[] };
}

/** The pods of `ns` that `selector` matches. */
export async function pods(ns: string, selector: string): Promise<Pod[]> {
  return JSON.parse(await nodeKubectl(['get', 'pods', '-n', ns, '-l', selector, '-o', 'json']))
    .items as Pod[];
}

/**
 * An application image built the README's way: FROM the revisor image, with a migrations
 * directory (buildah, then loaded into the node's containerd).
 */
export async function applicationImage(name: string, files: Record<string, string>): Promise<string> {
  const context = await testDir('revisor-app-image-');
  await mkdir(join(context, 'migrations'));
  for (const [file, text] of Object.entries(files)) await writeFile(join(context, 'migrations', file), text);
  await writeFile(
    join(context, 'Containerfile'),
    `FROM ${inject('nodeImage')}\nCOPY migrations /migrations\nENV REVISOR_MIGRATIONS=/migrations\n`,
  );
  const tag = `localhost/app-${name}:${randomBytes(4).toString('hex')}`;
  await execFile(
    'buildah',
    [
      '--storage-driver',
      'vfs',
      'bud',
      '--pull-never',
      '--layers=false',
      '-t',
      tag,
      '-f',
      join(context, 'Containerfile'),
      context,
    ],
    {
      maxBuffer: 16 << 20,
    },
  );
  await importImageInto(inject('nodeContainerdSocket'), tag);
  // The node's containerd holds it now; buildah's copy (a full one under vfs, 300 MB) would
  // otherwise stay behind after every run.
  await execFile('buildah', ['--storage-driver', 'vfs', 'rmi', tag]);
  return tag;
}
