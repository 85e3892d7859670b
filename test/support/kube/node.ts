import { type ChildProcess, execFile as execFileCb, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, openSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from '../../../src/cli/embedded-postgres.js';
import { binary, etcdArgs, kubeBin, stopProcess } from './cluster.js';

const execFile = promisify(execFileCb);
const run = (cmd: string, args: readonly string[], options: { cwd?: string } = {}) =>
  execFile(cmd, args, { maxBuffer: 64 << 20, ...options }).then((r) => r.stdout);
const quiet = (cmd: string, args: readonly string[]) => run(cmd, args).catch(() => '');

/**
 * A real single-node Kubernetes for the node tier, started and torn down by the tests:
 * etcd, kube-apiserver, kube-controller-manager and kube-scheduler built from Go modules
 * (npm run kube:assets), a kubelet on containerd and runc (Debian's packages), pods on a
 * bridge this harness creates (CNI bridge + host-local). Everything pods reach (the API
 * server, PostgreSQL) listens on the bridge's address: pods cannot reach the host's
 * loopback, and nothing may use the machine's own external address.
 * ../shared/real-node/README.md records the settings that mattered on this kind of machine.
 */
export const nodeSubnet = { bridge: 'rvsr0', gateway: '10.213.0.1', cidr: '10.213.0.0/24' } as const;
export const nodeName = 'revisor-node';
export const pauseImage = 'localhost/revisor-pause:1';

export interface NodeCluster {
  readonly server: string;
  readonly kubeconfig: string;
  readonly adminToken: string;
  readonly caFile: string;
  readonly apiPort: number;
  readonly dir: string;
  readonly containerdSocket: string;
  /** Makes a local image (buildah storage) available to the node's containerd. */
  importImage(name: string): Promise<void>;
  stop(): Promise<void>;
}

/** Why the node cannot start on this machine, or null when it can. */
export function nodeUnavailable(): string | null {
  if (process.getuid?.() !== 0) return 'the node tier needs root (mounts, a bridge, cgroups)';
  for (const name of ['kubelet', 'kube-controller-manager', 'kube-scheduler', 'pause'])
    if (!existsSync(join(kubeBin, name))) return `${join(kubeBin, name)} is missing: run npm run kube:assets`;
  for (const tool of ['containerd', 'ctr', 'runc', 'buildah', 'ip'])
    if (!['/usr/bin', '/usr/sbin', '/sbin', '/bin'].some((d) => existsSync(join(d, tool))))
      return `${tool} is not installed (scripts/test-deps.sh installs it)`;
  if (!existsSync('/usr/lib/cni/bridge'))
    return 'the CNI plugins are not installed (containernetworking-plugins)';
  return null;
}

async function until(what: string, probe: () => Promise<boolean>, timeoutMs: number, log?: string) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await probe().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 300));
  }
  const tail = log ? (await readFile(log, 'utf8').catch(() => '')).split('\n').slice(-25).join('\n') : '';
  throw new Error(`${what} not ready within ${timeoutMs / 1000}s${tail ? `:\n${tail}` : ''}`);
}

/** Loads an image from buildah's storage into the node's containerd (k8s.io namespace). */
export async function importImageInto(containerdSocket: string, name: string): Promise<void> {
  const archive = join(dirname(containerdSocket), `image-${randomBytes(4).toString('hex')}.tar`);
  try {
    await run('buildah', [
      '--storage-driver',
      'vfs',
      'push',
      '--quiet',
      name,
      `oci-archive:${archive}:${name}`,
    ]);
    await run('ctr', [
      '-a',
      containerdSocket,
      '-n',
      'k8s.io',
      'images',
      'import',
      '--base-name',
      name.split(':')[0]!,
      archive,
    ]);
  } finally {
    await rm(archive, { force: true });
  }
}

/** The pids of the containerd shims serving `socket`. */
async function shimsOf(socket: string): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const cmdline = await readFile(join('/proc', entry, 'cmdline'), 'utf8').catch(() => '');
    const args = cmdline.split('\0');
    if (args[0]?.endsWith('containerd-shim-runc-v2') && args.includes(socket)) pids.push(Number(entry));
  }
  return pids;
}

/** SIGKILL to `roots` and every process below them, children first (by /proc's parent links). */
async function killTree(roots: readonly number[]): Promise<void> {
  if (roots.length === 0) return;
  const parents = new Map<number, number>();
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readFile(join('/proc', entry, 'stat'), 'utf8').catch(() => '');
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    if (ppid) parents.set(Number(entry), ppid);
  }
  const depth = (pid: number): number => {
    let d = 0;
    for (let p = parents.get(pid); p !== undefined; p = parents.get(p)) {
      d++;
      if (roots.includes(p)) return d;
    }
    return roots.includes(pid) ? 0 : -1;
  };
  const tree = [...parents.keys()].map((pid) => ({ pid, d: depth(pid) })).filter((x) => x.d >= 0);
  for (const { pid } of tree.sort((a, b) => b.d - a.d)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
}

/** Removes what an earlier run that was killed left behind: the bridge, mounts under /tmp/revisor-node-*. */
async function cleanStale(): Promise<void> {
  await quiet('ip', ['link', 'del', nodeSubnet.bridge]);
  const mounts = await readFile('/proc/mounts', 'utf8');
  const stale = mounts
    .split('\n')
    .map((l) => l.split(' ')[1] ?? '')
    .filter((m) => m.startsWith('/tmp/revisor-node-'))
    .sort((a, b) => b.length - a.length);
  for (const m of stale) await quiet('umount', ['-l', m]);
}

export async function startNodeCluster(): Promise<NodeCluster> {
  await cleanStale();
  const dir = await mkdtemp('/tmp/revisor-node-');
  const processes: ChildProcess[] = [];
  const mounts: string[] = [];
  const log = (name: string) => openSync(join(dir, `${name}.log`), 'a');
  const start = (name: string, bin: string, args: string[]) => {
    const child = spawn(bin, args, { detached: true, stdio: ['ignore', log(name), log(name)] });
    processes.push(child);
    return child;
  };
  const netnsBefore = new Set(await readdir('/run/netns').catch(() => [] as string[]));
  const stop = async () => {
    // The kubelet first (it would start a killed pod again), then every process under this
    // node's containerd shims, then the control plane and containerd.
    const kubelet = processes.find((p) => p.spawnargs[0]?.endsWith('/kubelet'));
    if (kubelet) await stopProcess(kubelet);
    await killTree(await shimsOf(join(dir, 'containerd.sock')));
    for (const child of processes.splice(0).reverse()) await stopProcess(child);
    for (const m of mounts.reverse()) await quiet('umount', ['-l', m]);
    // The pods' network namespaces, which the CNI plugins left.
    for (const netns of await readdir('/run/netns').catch(() => [] as string[])) {
      if (netnsBefore.has(netns)) continue;
      await quiet('umount', ['-l', join('/run/netns', netns)]);
      await rm(join('/run/netns', netns), { force: true }).catch(() => undefined);
    }
    const left = (await readFile('/proc/mounts', 'utf8'))
      .split('\n')
      .map((l) => l.split(' ')[1] ?? '')
      .filter((m) => m.startsWith(dir))
      .sort((a, b) => b.length - a.length);
    for (const m of left) await quiet('umount', ['-l', m]);
    await quiet('ip', ['link', 'del', nodeSubnet.bridge]);
    // Empty cgroups the kubelet and runc made for pods.
    for (const root of [
      '/sys/fs/cgroup/cpu,cpuacct',
      '/sys/fs/cgroup/memory',
      '/sys/fs/cgroup/pids',
      '/sys/fs/cgroup/cpuset',
      '/sys/fs/cgroup/systemd',
    ])
      await quiet('find', [join(root, 'kubepods'), '-depth', '-type', 'd', '-exec', 'rmdir', '{}', ';']);
    await rm(dir, { recursive: true, force: true }).catch(() => undefined);
  };
  try {
    // The bridge pods hang on; its address is the node's, and where the API server and
    // PostgreSQL listen for pods.
    await run('ip', ['link', 'add', nodeSubnet.bridge, 'type', 'bridge']);
    await run('ip', ['addr', 'add', `${nodeSubnet.gateway}/24`, 'dev', nodeSubnet.bridge]);
    await run('ip', ['link', 'set', nodeSubnet.bridge, 'up']);

    // Certificates: a CA the kubelet trusts for the API server's calls (logs, exec).
    const pki = join(dir, 'pki');
    await mkdir(pki);
    const ssl = (args: string[]) => run('openssl', args, { cwd: pki });
    await ssl([
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      'ca.key',
      '-out',
      'ca.crt',
      '-days',
      '2',
      '-subj',
      '/CN=revisor-node-ca',
    ]);
    await ssl([
      'req',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      'apiserver-kubelet.key',
      '-out',
      'apiserver-kubelet.csr',
      '-subj',
      '/O=system:masters/CN=kube-apiserver-kubelet-client',
    ]);
    await ssl([
      'x509',
      '-req',
      '-in',
      'apiserver-kubelet.csr',
      '-CA',
      'ca.crt',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-out',
      'apiserver-kubelet.crt',
      '-days',
      '2',
    ]);
    await ssl(['genrsa', '-out', 'sa.key', '2048']);
    await ssl(['rsa', '-in', 'sa.key', '-pubout', '-out', 'sa.pub']);
    const adminToken = randomBytes(24).toString('hex');
    const nodeToken = randomBytes(24).toString('hex');
    await writeFile(
      join(dir, 'tokens.csv'),
      `${adminToken},revisor-test-admin,revisor-test-admin,system:masters\n${nodeToken},system:node:${nodeName},${nodeName},system:nodes\n`,
    );

    const [etcdPort, peerPort, apiPort, kubeletPort, healthzPort] = [
      await freePort(),
      await freePort(),
      await freePort(),
      await freePort(),
      await freePort(),
    ];
    start('etcd', binary('etcd'), etcdArgs(join(dir, 'etcd'), etcdPort, peerPort));
    await until(
      'etcd',
      async () => (await fetch(`http://127.0.0.1:${etcdPort}/health`)).ok,
      30_000,
      join(dir, 'etcd.log'),
    );

    const certDir = join(dir, 'apiserver');
    start('kube-apiserver', binary('kube-apiserver'), [
      `--etcd-servers=http://127.0.0.1:${etcdPort}`,
      `--secure-port=${apiPort}`,
      `--bind-address=${nodeSubnet.gateway}`,
      `--advertise-address=${nodeSubnet.gateway}`,
      '--endpoint-reconciler-type=none',
      `--cert-dir=${certDir}`,
      `--token-auth-file=${join(dir, 'tokens.csv')}`,
      '--authorization-mode=Node,RBAC',
      `--kubelet-client-certificate=${join(pki, 'apiserver-kubelet.crt')}`,
      `--kubelet-client-key=${join(pki, 'apiserver-kubelet.key')}`,
      '--kubelet-preferred-address-types=InternalIP',
      '--service-cluster-ip-range=10.96.0.0/24',
      `--service-account-key-file=${join(pki, 'sa.pub')}`,
      `--service-account-signing-key-file=${join(pki, 'sa.key')}`,
      '--service-account-issuer=https://kubernetes.default.svc',
      '--api-audiences=https://kubernetes.default.svc',
      '--allow-privileged=true',
      '--enable-priority-and-fairness=false',
    ]);
    const server = `https://${nodeSubnet.gateway}:${apiPort}`;
    const caFile = join(certDir, 'apiserver.crt');
    const kubectlArgs = [`--server=${server}`, `--token=${adminToken}`, `--certificate-authority=${caFile}`];
    await until(
      'kube-apiserver',
      async () =>
        existsSync(caFile) &&
        (await run(binary('kubectl'), [...kubectlArgs, 'get', '--raw=/readyz'])).trim() === 'ok',
      90_000,
      join(dir, 'kube-apiserver.log'),
    );
    const kubeconfigFor = async (file: string, user: string, token: string) => {
      await writeFile(
        file,
        JSON.stringify({
          apiVersion: 'v1',
          kind: 'Config',
          clusters: [
            {
              name: 'node',
              cluster: { server, 'certificate-authority-data': (await readFile(caFile)).toString('base64') },
            },
          ],
          users: [{ name: user, user: { token } }],
          contexts: [{ name: 'node', context: { cluster: 'node', user, namespace: 'default' } }],
          'current-context': 'node',
        }),
      );
      return file;
    };
    const kubeconfig = await kubeconfigFor(join(dir, 'kubeconfig'), 'admin', adminToken);
    const nodeKubeconfig = await kubeconfigFor(join(dir, 'kubelet.kubeconfig'), nodeName, nodeToken);

    start('kube-controller-manager', join(kubeBin, 'kube-controller-manager'), [
      `--kubeconfig=${kubeconfig}`,
      '--leader-elect=false',
      `--service-account-private-key-file=${join(pki, 'sa.key')}`,
      `--root-ca-file=${caFile}`,
      '--use-service-account-credentials=false',
      // What the tests exercise: Jobs, Deployments, garbage collection, namespaces, and the
      // service accounts and root CA ConfigMap every pod's token volume needs.
      `--controllers=${[
        'job-controller',
        'deployment-controller',
        'replicaset-controller',
        'garbage-collector-controller',
        'namespace-controller',
        'ttl-after-finished-controller',
        'pod-garbage-collector-controller',
        'serviceaccount-controller',
        'serviceaccount-token-controller',
        'root-ca-certificate-publisher-controller',
        'clusterrole-aggregation-controller',
      ].join(',')}`,
      '--secure-port=0',
      '--concurrent-gc-syncs=5',
    ]);
    start('kube-scheduler', join(kubeBin, 'kube-scheduler'), [
      `--kubeconfig=${kubeconfig}`,
      `--authentication-kubeconfig=${kubeconfig}`,
      `--authorization-kubeconfig=${kubeconfig}`,
      '--leader-elect=false',
      '--bind-address=127.0.0.1',
      `--secure-port=${await freePort()}`,
    ]);

    // containerd with a configuration of its own: root, state and socket in this directory.
    const ctr = join(dir, 'containerd');
    const containerdSocket = join(dir, 'containerd.sock');
    const cniConf = join(dir, 'cni');
    await mkdir(cniConf, { recursive: true });
    await writeFile(
      join(cniConf, '10-revisor.conflist'),
      JSON.stringify({
        cniVersion: '1.0.0',
        name: 'revisor',
        plugins: [
          {
            type: 'bridge',
            bridge: nodeSubnet.bridge,
            isGateway: true,
            ipMasq: false,
            ipam: {
              type: 'host-local',
              ranges: [[{ subnet: nodeSubnet.cidr, gateway: nodeSubnet.gateway }]],
              dataDir: join(dir, 'cni-ipam'),
            },
          },
        ],
      }),
    );
    await writeFile(
      join(dir, 'containerd.toml'),
      [
        'version = 2',
        `root = "${ctr}/root"`,
        `state = "${ctr}/state"`,
        '[grpc]',
        `  address = "${containerdSocket}"`,
        '[plugins."io.containerd.grpc.v1.cri"]',
        `  sandbox_image = "${pauseImage}"`,
        // This machine lacks CAP_SYS_RESOURCE: without it every sandbox fails to start.
        '  restrict_oom_score_adj = true',
        '  [plugins."io.containerd.grpc.v1.cri".containerd]',
        '    snapshotter = "overlayfs"',
        '    default_runtime_name = "runc"',
        '    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]',
        '      runtime_type = "io.containerd.runc.v2"',
        '      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]',
        '        SystemdCgroup = false',
        '  [plugins."io.containerd.grpc.v1.cri".cni]',
        '    bin_dir = "/usr/lib/cni"',
        `    conf_dir = "${cniConf}"`,
        '',
      ].join('\n'),
    );
    start('containerd', 'containerd', ['--config', join(dir, 'containerd.toml')]);
    await until('containerd', async () => existsSync(containerdSocket), 30_000, join(dir, 'containerd.log'));
    const importImage = (name: string) => importImageInto(containerdSocket, name);
    // The sandbox image: the static pause binary, as an image of its own.
    const pauseContainer = (await run('buildah', ['--storage-driver', 'vfs', 'from', 'scratch'])).trim();
    await run('buildah', [
      '--storage-driver',
      'vfs',
      'copy',
      pauseContainer,
      join(kubeBin, 'pause'),
      '/pause',
    ]);
    await run('buildah', ['--storage-driver', 'vfs', 'config', '--entrypoint', '["/pause"]', pauseContainer]);
    await run('buildah', [
      '--storage-driver',
      'vfs',
      'commit',
      '--quiet',
      '--rm',
      pauseContainer,
      pauseImage,
    ]);
    await importImage(pauseImage);

    // The kubelet's root and /run/netns must be mount points it can share into pods.
    const kubeletRoot = join(dir, 'kubelet');
    await mkdir(kubeletRoot);
    await run('mount', ['--bind', kubeletRoot, kubeletRoot]);
    mounts.push(kubeletRoot);
    await run('mount', ['--make-rshared', kubeletRoot]);
    await mkdir('/run/netns', { recursive: true });
    const mounted = (await readFile('/proc/mounts', 'utf8'))
      .split('\n')
      .some((l) => l.split(' ')[1] === '/run/netns');
    if (!mounted) {
      await run('mount', ['--bind', '/run/netns', '/run/netns']);
      mounts.push('/run/netns');
    }
    await run('mount', ['--make-shared', '/run/netns']);

    await writeFile(
      join(dir, 'kubelet.yaml'),
      JSON.stringify({
        apiVersion: 'kubelet.config.k8s.io/v1beta1',
        kind: 'KubeletConfiguration',
        address: nodeSubnet.gateway,
        port: kubeletPort,
        readOnlyPort: 0,
        healthzBindAddress: '127.0.0.1',
        healthzPort,
        failCgroupV1: false,
        cgroupDriver: 'cgroupfs',
        failSwapOn: false,
        containerRuntimeEndpoint: `unix://${containerdSocket}`,
        authentication: {
          x509: { clientCAFile: join(pki, 'ca.crt') },
          webhook: { enabled: false },
          anonymous: { enabled: false },
        },
        authorization: { mode: 'AlwaysAllow' },
        evictionHard: {
          'memory.available': '1Mi',
          'nodefs.available': '1%',
          'imagefs.available': '1%',
          'nodefs.inodesFree': '1%',
        },
        imageGCHighThresholdPercent: 100,
        imageGCLowThresholdPercent: 99,
        cgroupsPerQOS: false,
        enforceNodeAllocatable: [],
        resolvConf: '',
        registerNode: true,
        serializeImagePulls: false,
        syncFrequency: '5s',
        fileCheckFrequency: '5s',
        nodeStatusUpdateFrequency: '5s',
      }),
    );
    start('kubelet', join(kubeBin, 'kubelet'), [
      `--config=${join(dir, 'kubelet.yaml')}`,
      `--kubeconfig=${nodeKubeconfig}`,
      `--root-dir=${kubeletRoot}`,
      `--cert-dir=${join(dir, 'kubelet-pki')}`,
      `--hostname-override=${nodeName}`,
      `--node-ip=${nodeSubnet.gateway}`,
    ]);
    await until(
      'the node',
      async () => {
        const node = JSON.parse(
          await run(binary('kubectl'), [...kubectlArgs, 'get', 'node', nodeName, '-o', 'json']),
        );
        return node.status?.conditions?.some(
          (c: { type: string; status: string }) => c.type === 'Ready' && c.status === 'True',
        );
      },
      120_000,
      join(dir, 'kubelet.log'),
    );
    // The kubelet registers with the not-ready taint, which the node lifecycle controller
    // would lift; that controller also evicts pods from a node it cannot see, so it does not
    // run here, and the taint is lifted by hand once the node is Ready.
    await run(binary('kubectl'), [
      ...kubectlArgs,
      'patch',
      'node',
      nodeName,
      '--type=json',
      '-p',
      '[{"op":"remove","path":"/spec/taints"}]',
    ]).catch(() => '');
    return { server, kubeconfig, adminToken, caFile, apiPort, dir, containerdSocket, importImage, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
