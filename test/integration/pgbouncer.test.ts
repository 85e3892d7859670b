import { describe, expect, it } from 'vitest';
import { runCli, sqlMigration, startCli, writeChain } from '../support/cli.js';
import { connect, createTestDatabase, tableNames, untilSleeping, versionRows } from '../support/db.js';
import { startPgBouncer } from '../support/pgbouncer.js';

/**
 * A chain whose every step records, in a table of its own, which backend ran it and
 * fails if another backend is inside the same step at the same time: an overlap shows
 * as a duplicate key or as two rows.
 */
function guardedChain(n: number): Record<string, string> {
  const files: Record<string, string> = {
    '000.sql': sqlMigration(
      's0',
      null,
      'CREATE TABLE ran (revision text PRIMARY KEY, pid int NOT NULL, at timestamptz NOT NULL DEFAULT clock_timestamp());',
      'DROP TABLE ran;',
    ),
  };
  for (let i = 1; i <= n; i++) {
    files[`${String(i).padStart(3, '0')}.sql`] = sqlMigration(
      `s${i}`,
      `s${i - 1}`,
      `INSERT INTO ran (revision, pid) VALUES ('s${i}', pg_backend_pid());\nSELECT pg_sleep(0.02);\nCREATE TABLE t${i} (id int);`,
      `DROP TABLE t${i};\nDELETE FROM ran WHERE revision = 's${i}';`,
    );
  }
  return files;
}

async function heldAdvisoryLocks(url: string): Promise<number> {
  const db = await connect(url);
  const { rows } = await db.query<{ n: number }>(
    "SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
  );
  return rows[0]!.n;
}

describe.each(['transaction', 'session'] as const)('behind PgBouncer in %s pooling mode', (poolMode) => {
  it('10 concurrent migrators apply each step exactly once, and no lock is left behind', async () => {
    const url = await createTestDatabase();
    const bouncer = await startPgBouncer(url, { poolMode, poolSize: poolMode === 'transaction' ? 4 : 30 });
    const dir = await writeChain(guardedChain(15));
    const env = { DATABASE_URL: bouncer.url(url), REVISOR_MIGRATIONS: dir, REVISOR_LOG_LEVEL: 'warn' };
    const runs = await Promise.all(Array.from({ length: 10 }, () => runCli(['upgrade', 'head'], env)));
    for (const run of runs) {
      expect(run.stderr).not.toContain('duplicate key');
      expect(run.code).toBe(0);
    }
    const db = await connect(url);
    expect(await versionRows(db)).toEqual(['s15']);
    const { rows } = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM ran');
    expect(rows[0]!.n).toBe(15);
    const applied = await db.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM revisor_history WHERE outcome = 'applied' AND direction = 'upgrade'",
    );
    expect(applied.rows[0]!.n).toBe(16);
    expect(await heldAdvisoryLocks(url)).toBe(0);
    // A later migrator is not kept waiting by anything the others left.
    const later = await runCli(['upgrade', 'head', '--lock-wait', '2s'], env);
    expect(later.code).toBe(0);
    expect(later.stdout).toContain('nothing to do');
  });

  it('a migrator killed mid-chain leaves no lock, and the next one finishes the chain', async () => {
    const url = await createTestDatabase();
    const bouncer = await startPgBouncer(url, { poolMode, poolSize: 4 });
    const files = guardedChain(3);
    files['002.sql'] = sqlMigration(
      's2',
      's1',
      'CREATE TABLE t2 (id int);\nSELECT pg_sleep(30);',
      'DROP TABLE t2;',
    );
    const dir = await writeChain(files);
    const env = { DATABASE_URL: bouncer.url(url), REVISOR_MIGRATIONS: dir };
    const db = await connect(url);
    const run = startCli(['upgrade', 'head'], env);
    await untilSleeping(db, 1);
    run.child.kill('SIGKILL');
    await run.done;
    await import('node:fs/promises').then((fs) =>
      fs.writeFile(`${dir}/002.sql`, sqlMigration('s2', 's1', 'CREATE TABLE t2 (id int);', 'DROP TABLE t2;')),
    );
    const next = await runCli(['upgrade', 'head', '--lock-wait', '20s'], env);
    expect(next.stderr).not.toContain('LockTimeout');
    expect(next.code).toBe(0);
    expect(await versionRows(db)).toEqual(['s3']);
    expect(await tableNames(db)).toEqual(expect.arrayContaining(['t1', 't2', 't3']));
    expect(await heldAdvisoryLocks(url)).toBe(0);
  });
});

describe('behind PgBouncer in transaction mode', () => {
  it('a pool of one server connection is reported with the fix, not a hang', async () => {
    const url = await createTestDatabase();
    const bouncer = await startPgBouncer(url, { poolMode: 'transaction', poolSize: 1 });
    const dir = await writeChain(guardedChain(1));
    const started = Date.now();
    const result = await runCli(['upgrade', 'head', '--connect-timeout', '2s'], {
      DATABASE_URL: bouncer.url(url),
      REVISOR_MIGRATIONS: dir,
    });
    expect(Date.now() - started).toBeLessThan(30_000);
    expect(result.code).toBe(20);
    expect(result.stderr).toContain('raise the pool size');
    const db = await connect(url);
    expect(await tableNames(db)).toEqual([]);
    expect(await heldAdvisoryLocks(url)).toBe(0);
  });

  it('CREATE INDEX CONCURRENTLY does not deadlock with the lock, and the step is fenced', async () => {
    const url = await createTestDatabase();
    const bouncer = await startPgBouncer(url, { poolMode: 'transaction', poolSize: 4 });
    const dir = await writeChain({
      '1.sql': sqlMigration(
        'a',
        null,
        'CREATE TABLE big AS SELECT g AS v FROM generate_series(1, 10000) g;',
        'DROP TABLE big;',
      ),
      '2.sql': sqlMigration(
        'b',
        'a',
        'CREATE INDEX CONCURRENTLY big_v ON big (v);',
        'DROP INDEX CONCURRENTLY big_v;',
        {
          transactional: false,
        },
      ),
    });
    const env = { DATABASE_URL: bouncer.url(url), REVISOR_MIGRATIONS: dir, REVISOR_LOCK_WAIT: '30s' };
    const runs = await Promise.all([
      runCli(['upgrade'], env),
      runCli(['upgrade'], env),
      runCli(['upgrade'], env),
    ]);
    for (const run of runs) expect(run.code).toBe(0);
    const db = await connect(url);
    expect(await versionRows(db)).toEqual(['b']);
    const { rows } = await db.query("SELECT indisvalid FROM pg_index WHERE indexrelid = 'big_v'::regclass");
    expect(rows).toEqual([{ indisvalid: true }]);
  });
});
