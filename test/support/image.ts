import { execFile as execFileCb, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { repoRoot } from './cli.js';

const execFile = promisify(execFileCb);
const storage = ['--storage-driver', 'vfs'];
const buildah = (args: readonly string[]) =>
  execFile('buildah', [...storage, ...args], { maxBuffer: 64 << 20 }).then((r) => r.stdout.trim());

/** What the project's Dockerfile reads: the image is rebuilt when any of it changes. */
async function contextDigest(): Promise<string> {
  const { stdout } = await execFile(
    'git',
    [
      'ls-files',
      '-s',
      '--',
      'Dockerfile',
      '.dockerignore',
      'package.json',
      'package-lock.json',
      'tsconfig.json',
      'tsconfig.image.json',
      'rolldown.config.mjs',
      'src',
      'migrations',
      'bin',
      'scripts/stage-image.sh',
    ],
    { cwd: repoRoot, maxBuffer: 16 << 20 },
  );
  // Staged blobs name committed content; files edited since are hashed as they are.
  const { stdout: dirty } = await execFile(
    'git',
    [
      'diff',
      '--name-only',
      'HEAD',
      '--',
      'Dockerfile',
      'src',
      'migrations',
      'bin',
      'scripts',
      'package.json',
    ],
    { cwd: repoRoot },
  );
  const hash = createHash('sha256').update(stdout);
  for (const file of dirty.split('\n').filter(Boolean))
    hash.update(await readFile(join(repoRoot, file)).catch(() => ''));
  return hash.digest('hex').slice(0, 16);
}

/**
 * The project's image, built from its Dockerfile as it is, with buildah (no Docker engine
 * here): first the stand-in for the base image (scripts/image/base-standin.sh, cached by
 * its recipe), then the Dockerfile, tagged by the digest of what it reads, so a warm run
 * builds nothing. Progress goes to stderr: a cold build takes a few minutes.
 */
export async function projectImage(): Promise<string> {
  const tag = `localhost/revisor:test-${await contextDigest()}`;
  const present = await buildah(['images', '--noheading', '--format', '{{.Name}}:{{.Tag}}']);
  if (present.split('\n').includes(tag)) return tag;
  await execFile('bash', [join(repoRoot, 'scripts/image/base-standin.sh')], { cwd: repoRoot });
  process.stderr.write(`image: building ${tag} from the Dockerfile (about a minute)\n`);
  await buildah([
    'bud',
    '--isolation',
    'chroot',
    '--network',
    'host',
    '--pull-never',
    '--layers=false',
    '-t',
    tag,
    '-f',
    'Dockerfile',
    repoRoot,
  ]);
  // Earlier builds of the project's image are of sources that have moved on: each is a full
  // copy under vfs, and a machine that runs the tests after every change would fill up.
  for (const old of present.split('\n').filter((t) => t.startsWith('localhost/revisor:test-') && t !== tag))
    await buildah(['rmi', old]).catch(() => undefined);
  return tag;
}

/** Bytes an image's files take above those of the base it was built from. */
export async function sizeAboveBase(image: string, base: string): Promise<number> {
  const du = async (name: string) => {
    const container = await buildah(['from', '--pull-never', name]);
    try {
      const dir = await buildah(['mount', container]);
      return Number((await execFile('du', ['-sxb', dir])).stdout.split('\t')[0]);
    } finally {
      await buildah(['rm', container]).catch(() => undefined);
    }
  };
  return (await du(image)) - (await du(base));
}

/** Paths in an image: which exist. */
export async function pathsIn(image: string, paths: readonly string[]): Promise<string[]> {
  const container = await buildah(['from', '--pull-never', image]);
  try {
    const dir = await buildah(['mount', container]);
    const found: string[] = [];
    for (const path of paths) {
      const there = await execFile('test', ['-e', join(dir, path)]).then(
        () => true,
        () => false,
      );
      if (there) found.push(path);
    }
    return found;
  } finally {
    await buildah(['rm', container]).catch(() => undefined);
  }
}

export interface ImageRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs the image's entrypoint under runc as a kubelet would with the chart's security
 * context: its user (10001), a read-only root filesystem, a writable tmpfs at /tmp only,
 * no capabilities; the host's network namespace, so it reaches the test PostgreSQL on
 * loopback. `files` are mounted read-only (a migrations directory, say).
 */
export async function runImage(
  image: string,
  args: readonly string[],
  env: Readonly<Record<string, string>> = {},
  mounts: Readonly<Record<string, string>> = {},
): Promise<ImageRun & { readonly writable: string[] }> {
  const container = await buildah(['from', '--pull-never', image]);
  const bundle = await mkdtemp(join(tmpdir(), 'revisor-runc-'));
  try {
    const rootfs = await buildah(['mount', container]);
    const config = JSON.parse(await buildah(['inspect', '--type', 'image', image])) as {
      OCIv1: { config: { Env?: string[]; Entrypoint?: string[]; User?: string; WorkingDir?: string } };
    };
    const imageConfig = config.OCIv1.config;
    const [uid, gid] = (imageConfig.User ?? '0:0').split(':').map(Number);
    await execFile('runc', ['spec', '--bundle', bundle]);
    const spec = JSON.parse(await readFile(join(bundle, 'config.json'), 'utf8'));
    spec.root = { path: rootfs, readonly: true };
    spec.process.terminal = false;
    spec.process.user = { uid, gid: gid ?? uid };
    spec.process.cwd = imageConfig.WorkingDir || '/';
    spec.process.args = [...(imageConfig.Entrypoint ?? []), ...args];
    spec.process.env = [...(imageConfig.Env ?? []), ...Object.entries(env).map(([k, v]) => `${k}=${v}`)];
    spec.process.capabilities = { bounding: [], effective: [], permitted: [], ambient: [] };
    spec.process.noNewPrivileges = true;
    spec.linux.namespaces = spec.linux.namespaces.filter((n: { type: string }) => n.type !== 'network');
    spec.mounts.push({
      destination: '/tmp',
      type: 'tmpfs',
      source: 'tmpfs',
      options: ['nosuid', 'nodev', 'mode=1777', 'size=65536k'],
    });
    for (const [source, destination] of Object.entries(mounts))
      spec.mounts.push({ destination, type: 'bind', source, options: ['rbind', 'ro'] });
    await writeFile(join(bundle, 'config.json'), JSON.stringify(spec));
    const id = `revisor-test-${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
    // The entrypoint, then a look at which paths it could write: the root filesystem must refuse.
    const result = await new Promise<ImageRun>((resolve, reject) => {
      const child = spawn('runc', ['run', '--bundle', bundle, id], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => (stdout += d));
      child.stderr.on('data', (d) => (stderr += d));
      child.on('error', reject);
      child.on('exit', (code) => resolve({ code, stdout, stderr }));
    });
    spec.process.args = [
      'sh',
      '-c',
      'for d in / /app /app/dist /usr /etc /tmp; do touch "$d/.w" 2>/dev/null && echo "$d"; done; true',
    ];
    await writeFile(join(bundle, 'config.json'), JSON.stringify(spec));
    const { stdout: writable } = await execFile('runc', ['run', '--bundle', bundle, `${id}-w`]);
    return { ...result, writable: writable.split('\n').filter(Boolean) };
  } finally {
    await buildah(['umount', container]).catch(() => undefined);
    await buildah(['rm', container]).catch(() => undefined);
    await rm(bundle, { recursive: true, force: true });
  }
}
