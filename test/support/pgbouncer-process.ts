import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../src/cli/embedded-postgres.js';

export const pgbouncerBin = ['/usr/sbin/pgbouncer', '/usr/bin/pgbouncer'].find((p) => existsSync(p));

export interface PgBouncer {
  /** `url` with host and port replaced by the pooler's. */
  readonly url: (url: string) => string;
  readonly port: number;
  stop(): Promise<void>;
}

/**
 * A real PgBouncer in front of the test PostgreSQL, owned by the calling test: any
 * database name is passed through (`*`), the server user's password is in the auth file,
 * and the pool is as small as the caller asks. As root it runs as `nobody`, since
 * PgBouncer refuses to run as root. The caller stops it (tests: startPgBouncer).
 */
export async function launchPgBouncer(
  serverUrl: string,
  options: { poolMode: 'transaction' | 'session'; poolSize: number; queryWaitTimeoutS?: number },
): Promise<PgBouncer> {
  if (!pgbouncerBin)
    throw new Error('pgbouncer is not installed (scripts/test.sh installs the Debian package)');
  const server = new URL(serverUrl);
  const user = decodeURIComponent(server.username);
  const password = decodeURIComponent(server.password);
  const dir = await mkdtemp(join(tmpdir(), 'revisor-pgbouncer-'));
  await chmod(dir, 0o777);
  const port = await freePort();
  const quote = (s: string) => `"${s.replace(/"/g, '""')}"`;
  await writeFile(join(dir, 'userlist.txt'), `${quote(user)} ${quote(password)}\n`, { mode: 0o644 });
  await writeFile(
    join(dir, 'pgbouncer.ini'),
    [
      '[databases]',
      `* = host=${server.hostname} port=${server.port}`,
      '[pgbouncer]',
      'listen_addr = 127.0.0.1',
      `listen_port = ${port}`,
      'unix_socket_dir =',
      'auth_type = scram-sha-256',
      `auth_file = ${join(dir, 'userlist.txt')}`,
      `pool_mode = ${options.poolMode}`,
      `default_pool_size = ${options.poolSize}`,
      'min_pool_size = 0',
      'reserve_pool_size = 0',
      'max_client_conn = 200',
      `query_wait_timeout = ${options.queryWaitTimeoutS ?? 120}`,
      'server_reset_query = DISCARD ALL',
      `logfile = ${join(dir, 'pgbouncer.log')}`,
      'ignore_startup_parameters = extra_float_digits',
      '',
    ].join('\n'),
    { mode: 0o644 },
  );
  const args = [join(dir, 'pgbouncer.ini')];
  if (process.getuid?.() === 0) args.unshift('-u', 'nobody');
  const child = spawn(pgbouncerBin, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  const deadline = Date.now() + 10_000;
  while (!(await accepts(port))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      throw new Error(`pgbouncer did not start: ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  const stop = async () => {
    if (child.exitCode === null) {
      child.kill('SIGINT');
      await exited;
    }
    await rm(dir, { recursive: true, force: true });
  };
  return {
    port,
    url: (url: string) => {
      const u = new URL(url);
      u.hostname = '127.0.0.1';
      u.port = String(port);
      return u.toString();
    },
    stop,
  };
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.end();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
