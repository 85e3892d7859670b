import { type ChildProcess, execFile as execFileCb, spawn } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { existsSync, openSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from '../../../src/cli/embedded-postgres.js';

const execFile = promisify(execFileCb);

/**
 * A real control plane for the end-to-end tier, envtest-style: etcd and kube-apiserver
 * built from Go modules (npm run kube:assets), on free loopback ports, with a serving
 * certificate the apiserver generates, static-token authentication and RBAC
 * authorization. No kubelet or controller-manager: nothing runs pods or finalizes
 * namespaces, which the operator's tests do not need.
 */
/** The directory holding package.json: this file also runs compiled, from dist/ (the benchmarks). */
function findRoot(from: string): string {
  for (let dir = from; dir !== dirname(dir); dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'tools'))) return dir;
  }
  throw new Error(`no repository root above ${from}`);
}
export const repoRoot = findRoot(import.meta.dirname);
export const kubeBin = join(repoRoot, '.cache/kube/bin');
export const binary = (name: 'etcd' | 'kube-apiserver' | 'kubectl' | 'helm') => join(kubeBin, name);

export interface Cluster {
  readonly server: string;
  readonly kubeconfig: string;
  readonly adminToken: string;
  readonly caFile: string;
  readonly dir: string;
  /** Stops etcd and kube-apiserver (an outage), and starts them again on the same ports and data. */
  readonly controlPlane: { stop(): Promise<void>; start(): Promise<void> };
  stop(): Promise<void>;
}

async function waitUntil(
  what: string,
  probe: () => Promise<boolean>,
  timeoutMs: number,
  child: ChildProcess,
  log: string,
) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) {
      const tail = (await readFile(log, 'utf8').catch(() => '')).split('\n').slice(-20).join('\n');
      throw new Error(`${what} exited with ${child.exitCode} before it was ready:\n${tail}`);
    }
    if (await probe().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${what} was not ready within ${timeoutMs / 1000}s (log: ${log})`);
}

const logFd = (path: string) => openSync(path, 'a');

/** A single-member etcd on loopback, for a test cluster: its data in `dataDir`, no fsync. */
export const etcdArgs = (dataDir: string, clientPort: number, peerPort: number): string[] => [
  '--data-dir',
  dataDir,
  '--listen-client-urls',
  `http://127.0.0.1:${clientPort}`,
  '--advertise-client-urls',
  `http://127.0.0.1:${clientPort}`,
  '--listen-peer-urls',
  `http://127.0.0.1:${peerPort}`,
  '--initial-advertise-peer-urls',
  `http://127.0.0.1:${peerPort}`,
  '--initial-cluster',
  `default=http://127.0.0.1:${peerPort}`,
  '--unsafe-no-fsync',
];

/** SIGTERM to the child's process group, SIGKILL after 10 s. */
export async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.pid === undefined) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  try {
    process.kill(-child.pid, 'SIGTERM');
  } catch {
    return;
  }
  const killed = await Promise.race([
    exited.then(() => true),
    new Promise<boolean>((r) => setTimeout(() => r(false), 10_000)),
  ]);
  if (!killed) {
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
    await exited;
  }
}

export async function startCluster(): Promise<Cluster> {
  for (const name of ['etcd', 'kube-apiserver', 'kubectl'] as const) {
    if (!existsSync(binary(name))) {
      throw new Error(`${binary(name)} is missing: run "npm run kube:assets"`);
    }
  }
  const dir = await mkdtemp(join(tmpdir(), 'revisor-kube-'));
  const [etcdPort, peerPort, apiPort] = [await freePort(), await freePort(), await freePort()];
  const processes: ChildProcess[] = [];
  const stop = async () => {
    for (const child of processes.splice(0).reverse()) await stopProcess(child);
    await rm(dir, { recursive: true, force: true });
  };
  const certDir = join(dir, 'certs');
  const server = `https://127.0.0.1:${apiPort}`;
  const caFile = join(certDir, 'apiserver.crt');
  const adminToken = randomBytes(24).toString('hex');
  const startControlPlane = async () => {
    const etcdLog = join(dir, 'etcd.log');
    const etcd = spawn(binary('etcd'), etcdArgs(join(dir, 'etcd'), etcdPort, peerPort), {
      detached: true,
      stdio: ['ignore', logFd(etcdLog), logFd(etcdLog)],
    });
    processes.push(etcd);
    await waitUntil(
      'etcd',
      async () => (await fetch(`http://127.0.0.1:${etcdPort}/health`)).ok,
      30_000,
      etcd,
      etcdLog,
    );

    const apiLog = join(dir, 'kube-apiserver.log');
    const apiserver = spawn(
      binary('kube-apiserver'),
      [
        `--etcd-servers=http://127.0.0.1:${etcdPort}`,
        `--secure-port=${apiPort}`,
        '--bind-address=127.0.0.1',
        '--advertise-address=127.0.0.1',
        '--endpoint-reconciler-type=none',
        `--cert-dir=${certDir}`,
        `--token-auth-file=${join(dir, 'tokens.csv')}`,
        '--authorization-mode=RBAC',
        '--service-cluster-ip-range=10.96.0.0/24',
        `--service-account-key-file=${join(certDir, 'sa.pub')}`,
        `--service-account-signing-key-file=${join(certDir, 'sa.key')}`,
        '--service-account-issuer=https://kubernetes.default.svc',
        '--api-audiences=https://kubernetes.default.svc',
        '--disable-admission-plugins=ServiceAccount',
        '--allow-privileged=true',
        '--enable-priority-and-fairness=false',
      ],
      { detached: true, stdio: ['ignore', logFd(apiLog), logFd(apiLog)] },
    );
    processes.push(apiserver);
    await waitUntil(
      'kube-apiserver',
      async () => {
        if (!existsSync(caFile)) return false;
        const { stdout } = await execFile(binary('kubectl'), [
          `--server=${server}`,
          `--token=${adminToken}`,
          `--certificate-authority=${caFile}`,
          'get',
          '--raw=/readyz',
        ]);
        return stdout.trim() === 'ok';
      },
      90_000,
      apiserver,
      apiLog,
    );
  };
  try {
    await mkdir(certDir);
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    await writeFile(join(certDir, 'sa.key'), privateKey.export({ type: 'pkcs8', format: 'pem' }));
    await writeFile(join(certDir, 'sa.pub'), publicKey.export({ type: 'spki', format: 'pem' }));
    await writeFile(
      join(dir, 'tokens.csv'),
      `${adminToken},revisor-test-admin,revisor-test-admin,system:masters\n`,
    );
    await startControlPlane();
    const kubeconfig = join(dir, 'kubeconfig');
    await writeFile(
      kubeconfig,
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [
          {
            name: 'test',
            cluster: { server, 'certificate-authority-data': (await readFile(caFile)).toString('base64') },
          },
        ],
        users: [{ name: 'admin', user: { token: adminToken } }],
        contexts: [{ name: 'test', context: { cluster: 'test', user: 'admin', namespace: 'default' } }],
        'current-context': 'test',
      }),
    );
    const controlPlane = {
      stop: async () => {
        for (const child of processes.splice(0).reverse()) await stopProcess(child);
      },
      start: startControlPlane,
    };
    return { server, kubeconfig, adminToken, caFile, dir, controlPlane, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

export async function kubectl(kubeconfig: string, args: readonly string[], input?: string): Promise<string> {
  const child = execFile(binary('kubectl'), [`--kubeconfig=${kubeconfig}`, ...args], {
    maxBuffer: 32 * 1024 * 1024,
  });
  if (input !== undefined) {
    child.child.stdin!.end(input);
  }
  return (await child).stdout;
}

/** Applies every manifest in `dir` and waits until each CRD is Established. */
export async function installCrds(kubeconfig: string, dir: string): Promise<string[]> {
  const files = existsSync(dir) ? (await readdir(dir)).filter((f) => /\.ya?ml$/.test(f)) : [];
  if (files.length === 0) return [];
  await kubectl(kubeconfig, ['apply', '--server-side', ...files.flatMap((f) => ['-f', join(dir, f)])]);
  const names = (await kubectl(kubeconfig, ['get', 'crd', '-o', 'jsonpath={.items[*].metadata.name}']))
    .split(/\s+/)
    .filter(Boolean);
  await kubectl(kubeconfig, [
    'wait',
    '--for=condition=Established',
    '--timeout=60s',
    ...names.map((n) => `crd/${n}`),
  ]);
  return names;
}
