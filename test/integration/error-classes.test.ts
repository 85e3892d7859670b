import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { linearChain, runCli, sqlMigration, startCli, writeChain } from '../support/cli.js';
import {
  connect,
  createTestDatabase,
  tableNames,
  untilSleeping,
  versionRows,
  withDatabase,
} from '../support/db.js';

/** Every failure lands in its documented class, with no stack trace and nothing lost. */
describe('error classes', () => {
  it('a connection ended mid-step (pg_terminate_backend) is ConnectionFailed (20), and the step rolled back', async () => {
    const url = await createTestDatabase();
    const dir = await writeChain({
      '1.sql': sqlMigration('a1', null, 'CREATE TABLE t1 (id int);', 'DROP TABLE t1;'),
      '2.sql': sqlMigration('a2', 'a1', 'CREATE TABLE t2 (id int);\nSELECT pg_sleep(30);', 'DROP TABLE t2;'),
    });
    const run = startCli(['upgrade'], { DATABASE_URL: url, REVISOR_MIGRATIONS: dir });
    const db = await connect(url);
    await untilSleeping(db, 1);
    await db.query(
      "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE wait_event = 'PgSleep' AND datname = current_database()",
    );
    const result = await run.done;
    expect(result.code).toBe(20);
    expect(result.stderr).toContain('[ConnectionFailed]');
    expect(result.stderr).toContain('a2');
    expect(result.stderr).not.toContain('    at ');
    expect(await versionRows(db)).toEqual(['a1']);
    expect(await tableNames(db)).not.toContain('t2');
  });

  it('permission denied on the version table is PermissionDenied (25) with no stack trace', async () => {
    const url = await createTestDatabase();
    const admin = await connect(url);
    const role = `r_${Math.random().toString(36).slice(2, 10)}`;
    await admin.query(`CREATE ROLE ${role} LOGIN PASSWORD 'pw'`);
    await admin.query(`REVOKE CREATE ON SCHEMA public FROM PUBLIC`);
    const u = new URL(url);
    u.username = role;
    u.password = 'pw';
    const dir = await writeChain(linearChain(1));
    const result = await runCli(['upgrade'], { DATABASE_URL: u.toString(), REVISOR_MIGRATIONS: dir });
    await admin.query(`DROP OWNED BY ${role}; DROP ROLE ${role}`).catch(() => undefined);
    expect(result.code).toBe(25);
    expect(result.stderr).toContain('[PermissionDenied]');
    expect(result.stderr).toContain('permission denied for schema public');
    expect(result.stderr).not.toContain('pw@');
    expect(result.stderr).not.toContain('    at ');
    expect(await tableNames(admin)).toEqual([]);
  });

  it.each([
    [['--version-table', ''], 'version table name is empty'],
    [['--version-schema', 'pg_temp'], 'system schema'],
    [['--version-schema', 'pg_toast'], 'system schema'],
    [['--version-table', 'v'.repeat(64)], 'is 64 bytes; at most 59'],
    [['--version-table', 'v'.repeat(60)], 'its _pkc name must fit in 63'],
    [['--history-table', 'alembic_version'], 'the same name'],
    [['--statement-timeout', '1000h'], 'at most 2147483647ms'],
    [['--lock-timeout', 'soon'], 'takes a duration'],
  ])('%j is Usage (2) before the database is touched', async (args, message) => {
    const url = await createTestDatabase();
    const dir = await writeChain(linearChain(1));
    const result = await runCli(['upgrade', ...args], { DATABASE_URL: url, REVISOR_MIGRATIONS: dir });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('[Usage]');
    expect(result.stderr).toContain(message);
    const db = await connect(url);
    const { rows } = await db.query(
      "SELECT count(*)::int AS n FROM pg_class WHERE relnamespace = 'public'::regnamespace",
    );
    expect(rows[0].n).toBe(0);
  });

  it('loader problems are MigrationLoadError (10) naming the file', async () => {
    const url = await createTestDatabase();
    const cases: [string, (dir: string) => Promise<void>, string][] = [
      [
        'a directory named *.sql',
        (dir) => mkdir(join(dir, '002_dir.sql')),
        '002_dir.sql: is not a regular file',
      ],
      [
        'a dangling symlink',
        (dir) => symlink(join(dir, 'missing'), join(dir, '002_link.sql')),
        '002_link.sql: cannot be read',
      ],
      [
        'invalid UTF-8',
        (dir) =>
          writeFile(
            join(dir, '002_bad.sql'),
            Buffer.concat([
              Buffer.from(sqlMigration('rev2', 'rev1', "SELECT '", 'SELECT 1;')),
              Buffer.from([0xff, 0xfe]),
            ]),
          ),
        '002_bad.sql: is not valid UTF-8',
      ],
    ];
    for (const [, plant, message] of cases) {
      const dir = await writeChain(linearChain(1));
      await plant(dir);
      const result = await runCli(['upgrade'], { DATABASE_URL: url, REVISOR_MIGRATIONS: dir });
      expect(result.code).toBe(10);
      expect(result.stderr).toContain('[MigrationLoadError]');
      expect(result.stderr).toContain(message);
    }
    expect(await tableNames(await connect(url))).toEqual([]);
  });

  it('a chain of 6,000 revisions is not reported as a connection failure', async () => {
    const url = await createTestDatabase();
    const files: Record<string, string> = {};
    for (let i = 1; i <= 6000; i++)
      files[`${String(i).padStart(5, '0')}.sql`] = sqlMigration(
        `r${i}`,
        i === 1 ? null : `r${i - 1}`,
        'SELECT 1;',
        'SELECT 1;',
      );
    const dir = await writeChain(files);
    const result = await runCli(['upgrade', 'r3'], { DATABASE_URL: url, REVISOR_MIGRATIONS: dir });
    expect(result.stderr).not.toContain('ConnectionFailed');
    expect(result.stderr).not.toContain('RangeError');
    expect(result.code).toBe(0);
    expect(await versionRows(await connect(url))).toEqual(['r3']);
  });
});

describe('where the database comes from', () => {
  it('an empty DATABASE_URL is Usage (2), not the embedded PostgreSQL', async () => {
    const dir = await writeChain(linearChain(1));
    const result = await runCli(['upgrade'], { DATABASE_URL: '', REVISOR_MIGRATIONS: dir });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('is set but empty');
    expect(result.stderr).not.toContain('embedded PostgreSQL (a local');
  });

  it('in a cluster, nothing configured is Usage (2) unless --embedded asks for it', async () => {
    const dir = await writeChain(linearChain(1));
    const result = await runCli(['current'], {
      KUBERNETES_SERVICE_HOST: '10.0.0.1',
      REVISOR_MIGRATIONS: dir,
    });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('does not fall back to its embedded PostgreSQL');
  });

  it('--database-url-file reads a mounted Secret; an empty one is Usage', async () => {
    const url = await createTestDatabase();
    const dir = await writeChain(linearChain(2));
    await writeFile(join(dir, '_url'), `${url}\n`);
    const ok = await runCli(['upgrade', '--database-url-file', join(dir, '_url')], {
      REVISOR_MIGRATIONS: dir,
    });
    expect(ok.code).toBe(0);
    expect(await versionRows(await connect(url))).toEqual(['rev2']);
    await writeFile(join(dir, '_empty'), '\n');
    const empty = await runCli(['upgrade', '--database-url-file', join(dir, '_empty')], {
      REVISOR_MIGRATIONS: dir,
    });
    expect(empty.code).toBe(2);
    expect(empty.stderr).toContain('is empty');
  });

  it('a password on the command line is warned about and never printed', async () => {
    const url = await createTestDatabase();
    const u = new URL(url);
    u.password = 'sekret-pw';
    const dir = await writeChain(linearChain(1));
    const result = await runCli(
      ['current', '--database-url', withDatabase(u.toString(), u.pathname.slice(1))],
      {
        REVISOR_MIGRATIONS: dir,
      },
    );
    expect(result.stderr).toContain('visible to every local user in the process list');
    expect(result.stderr + result.stdout).not.toContain('sekret-pw');
    const fromEnv = await runCli(['current'], { DATABASE_URL: u.toString(), REVISOR_MIGRATIONS: dir });
    expect(fromEnv.stderr).not.toContain('process list');
  });
});

describe('the no-op at head', () => {
  it('reads the version table only: no scan of the history, however long it is', async () => {
    const url = await createTestDatabase();
    const dir = await writeChain(linearChain(30));
    const env = { DATABASE_URL: url, REVISOR_MIGRATIONS: dir };
    expect((await runCli(['upgrade'], env)).code).toBe(0);
    const db = await connect(url);
    const scans = async () => {
      // The statistics collector is asynchronous; a fresh snapshot is asked for explicitly.
      await db.query('SELECT pg_stat_clear_snapshot()');
      const { rows } = await db.query<{ scans: string }>(
        "SELECT coalesce(seq_scan, 0) + coalesce(idx_scan, 0) AS scans FROM pg_stat_user_tables WHERE relname = 'revisor_history'",
      );
      return Number(rows[0]!.scans);
    };
    await db.query('SELECT pg_stat_force_next_flush()');
    const before = await scans();
    for (let i = 0; i < 3; i++) {
      const noop = await runCli(['upgrade'], env);
      expect(noop.stdout).toContain('nothing to do');
    }
    // Backends flush their counters when they exit; give the last one a moment.
    await new Promise((r) => setTimeout(r, 1500));
    expect(await scans()).toBe(before);
    // The same read path does scan it once there is work: the check is not vacuous.
    expect((await runCli(['downgrade', '-1'], env)).code).toBe(0);
    expect((await runCli(['upgrade'], env)).code).toBe(0);
    await expect.poll(scans, { timeout: 10_000, interval: 200 }).toBeGreaterThan(before);
  });
});
