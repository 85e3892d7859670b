import { describe, expect, it } from 'vitest';
import { lockKey } from '../../src/migrator/pg/lock.js';
import { ensureTables } from '../../src/migrator/pg/state.js';
import { defaultTables } from '../../src/migrator/sql/bookkeeping.js';
import { linearChain, runCli, sqlMigration, startCli, writeChain } from '../support/cli.js';
import { connect, createTestDatabase, tableNames, versionRows } from '../support/db.js';

async function holdMigrationLock(url: string) {
  const holder = await connect(url);
  await holder.query("SET application_name = 'blocker-under-test'");
  const { rows } = await holder.query('SELECT current_database() AS db, pg_backend_pid() AS pid');
  const key = lockKey(rows[0].db, 'public', 'alembic_version');
  await holder.query('SELECT pg_advisory_lock($1::bigint)', [String(key)]);
  return {
    holder,
    pid: rows[0].pid as number,
    release: () => holder.query('SELECT pg_advisory_unlock_all()'),
  };
}

/** A database at revision tbl whose next step alters table busy, which another session has open. */
async function busyTable() {
  const url = await createTestDatabase();
  const dir = await writeChain({
    '1.sql': sqlMigration('tbl', null, 'CREATE TABLE busy (id int);', 'DROP TABLE busy;'),
    '2.sql': sqlMigration(
      'alter',
      'tbl',
      'ALTER TABLE busy ADD COLUMN note text;',
      'ALTER TABLE busy DROP COLUMN note;',
    ),
  });
  const env = { DATABASE_URL: url, REVISOR_MIGRATIONS: dir };
  expect((await runCli(['upgrade', 'tbl'], env)).code).toBe(0);
  const blocker = await connect(url);
  await blocker.query('BEGIN');
  await blocker.query('SELECT * FROM busy');
  return { env, blocker };
}

describe('the migration lock', () => {
  it('names the holder while waiting and times out cleanly', async () => {
    const url = await createTestDatabase();
    const dir = await writeChain(linearChain(2));
    const { pid } = await holdMigrationLock(url);
    const started = Date.now();
    const result = await runCli(['upgrade', '--lock-wait', '1500ms'], {
      DATABASE_URL: url,
      REVISOR_MIGRATIONS: dir,
    });
    expect(result.code).toBe(21);
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(result.stderr).toContain('[LockTimeout]');
    expect(result.stderr).toContain(`pid ${pid} "blocker-under-test"`);
    expect(result.stderr).toContain('waiting for the migration lock');
    const db = await connect(url);
    expect(await tableNames(db)).toEqual([]);
    // The waiter left nothing behind: no session of its own still open.
    const { rows } = await db.query(
      "SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name LIKE 'revisor%'",
    );
    expect(rows[0].n).toBe(0);
  });

  it('stops when its lock session is gone (the fence): nothing after the step under way runs', async () => {
    const url = await createTestDatabase();
    const dir = await writeChain({
      '1.sql': sqlMigration(
        'slow',
        null,
        'CREATE TABLE one (id int);\nSELECT pg_sleep(1.5);',
        'DROP TABLE one;',
      ),
      '2.sql': sqlMigration('two', 'slow', 'CREATE TABLE two (id int);', 'DROP TABLE two;'),
      '3.sql': sqlMigration('three', 'two', 'CREATE TABLE three (id int);', 'DROP TABLE three;'),
    });
    const run = startCli(['upgrade'], { DATABASE_URL: url, REVISOR_MIGRATIONS: dir });
    const admin = await connect(url);
    const { rows: dbRows } = await admin.query('SELECT current_database() AS db');
    const key = BigInt.asUintN(64, lockKey(dbRows[0].db, 'public', 'alembic_version'));
    const lockSession = async () =>
      (
        await admin.query(
          "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted AND mode = 'ExclusiveLock' AND classid = $1::oid AND objid = $2::oid",
          [String(key >> 32n), String(key & 0xffffffffn)],
        )
      ).rows[0]?.pid as number | undefined;
    await expect.poll(lockSession, { timeout: 10_000, interval: 50 }).toBeDefined();
    // The first step is sleeping: its lock session goes (a lease run out, a killed backend).
    await admin.query('SELECT pg_terminate_backend($1)', [await lockSession()]);
    const result = await run.done;
    expect(result.code).toBe(20);
    // Said as the lock lost, or as a session ended, whichever the run sees first; each says to rerun.
    expect(result.stderr).toContain('[ConnectionFailed]');
    expect(result.stderr).toMatch(/rerun/);
    // The step under way commits if its fence passed before the lock went (the work key it
    // holds keeps a new holder waiting for it), or rolls back with its session; either way
    // the database is where the version table says, and nothing after it ran.
    // (Gone before the work session readied its tables, the run created nothing.)
    const tables = await tableNames(admin);
    const at = tables.length ? await versionRows(admin) : [];
    expect([[], ['slow']]).toContainEqual(at);
    expect([[], ['alembic_version', 'revisor_history']]).toContainEqual(tables.filter((t) => t !== 'one'));
    expect(tables.includes('one')).toBe(at.length > 0);
  });

  it('proceeds once the holder releases', async () => {
    const url = await createTestDatabase();
    const dir = await writeChain(linearChain(2));
    const { release } = await holdMigrationLock(url);
    const run = startCli(['upgrade', '--lock-wait', '30s'], { DATABASE_URL: url, REVISOR_MIGRATIONS: dir });
    await new Promise((r) => setTimeout(r, 1500));
    await release();
    const result = await run.done;
    expect(result.code).toBe(0);
    expect(await versionRows(await connect(url))).toEqual(['rev2']);
  });

  it('is cancelled by SIGTERM while waiting', async () => {
    const url = await createTestDatabase();
    const dir = await writeChain(linearChain(1));
    await holdMigrationLock(url);
    const run = startCli(['upgrade', '--lock-wait', '60s'], { DATABASE_URL: url, REVISOR_MIGRATIONS: dir });
    await new Promise((r) => setTimeout(r, 1000));
    run.child.kill('SIGTERM');
    const result = await run.done;
    expect(result.code).toBe(22);
    expect(result.stderr).toContain('[Cancelled]');
  });

  it('20 concurrent upgrades of a fresh database apply the chain exactly once and all exit 0', async () => {
    const url = await createTestDatabase();
    const dir = await writeChain(linearChain(5));
    const runs = await Promise.all(
      Array.from({ length: 20 }, () =>
        runCli(['upgrade', 'head'], { DATABASE_URL: url, REVISOR_MIGRATIONS: dir }),
      ),
    );
    expect(runs.map((r) => r.code)).toEqual(Array(20).fill(0));
    const db = await connect(url);
    expect(await versionRows(db)).toEqual(['rev5']);
    const { rows } = await db.query(
      "SELECT revision, count(*)::int AS n FROM revisor_history WHERE direction = 'upgrade' GROUP BY revision ORDER BY revision",
    );
    expect(rows).toEqual(['rev1', 'rev2', 'rev3', 'rev4', 'rev5'].map((revision) => ({ revision, n: 1 })));
  });

  it('runs with version tables of their own, readying one fresh database at the same instant, all create the shared history table', async () => {
    for (let round = 0; round < 5; round++) {
      const url = await createTestDatabase();
      const sessions = await Promise.all(Array.from({ length: 8 }, () => connect(url)));
      const results = await Promise.allSettled(
        sessions.map((db, i) => ensureTables(db, { ...defaultTables, versionTable: `v_${i}` }, false)),
      );
      expect(results.filter((r) => r.status === 'rejected')).toEqual([]);
      const { rows } = await sessions[0]!.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = 'public' AND tablename LIKE 'v\\_%'",
      );
      expect(rows[0]!.n).toBe(8);
    }
  });

  it('does not deadlock with CREATE INDEX CONCURRENTLY while others wait for the lock', async () => {
    const url = await createTestDatabase();
    const dir = await writeChain({
      '1.sql': sqlMigration(
        'tbl',
        null,
        'CREATE TABLE big (id int, v int);\nINSERT INTO big SELECT g, g FROM generate_series(1, 50000) g;\nSELECT pg_sleep(1);',
        'DROP TABLE big;',
      ),
      '2.sql': sqlMigration(
        'idx',
        'tbl',
        'CREATE INDEX CONCURRENTLY big_v ON big (v);',
        'DROP INDEX CONCURRENTLY big_v;',
        {
          transactional: false,
        },
      ),
    });
    const env = { DATABASE_URL: url, REVISOR_MIGRATIONS: dir, REVISOR_LOCK_WAIT: '60s' };
    const runs = await Promise.all([
      runCli(['upgrade'], env),
      runCli(['upgrade'], env),
      runCli(['upgrade'], env),
    ]);
    expect(
      runs.map((r) => r.code),
      runs.map((r) => r.stderr).join('\n'),
    ).toEqual([0, 0, 0]);
    const db = await connect(url);
    const { rows } = await db.query("SELECT indisvalid FROM pg_index WHERE indexrelid = 'big_v'::regclass");
    expect(rows).toEqual([{ indisvalid: true }]);
    expect(await versionRows(db)).toEqual(['idx']);
  });

  it.each(['per-migration', 'all'])(
    'retries a step whose table lock timed out (%s mode), and succeeds once the blocker ends',
    async (mode) => {
      const { env, blocker } = await busyTable();
      const args = ['upgrade', '--transaction-mode', mode, '--lock-timeout', '200ms', '--lock-retries', '6'];
      const run = startCli(args, env);
      await new Promise((r) => setTimeout(r, 1500));
      await blocker.query('COMMIT');
      const result = await run.done;
      expect(result.code).toBe(0);
      expect(result.stderr).toContain('a table lock timed out; retrying the step');
      expect(await versionRows(blocker)).toEqual(['alter']);
    },
  );

  it('gives up with StepLockTimeout when the blocker never ends, leaving the version unchanged', async () => {
    const { env, blocker } = await busyTable();
    const result = await runCli(['upgrade', '--lock-timeout', '100ms', '--lock-retries', '1'], env);
    await blocker.query('ROLLBACK');
    expect(result.code).toBe(23);
    expect(result.stderr).toContain('[StepLockTimeout]');
    expect(result.stderr).toContain('lock timeout');
    expect(await versionRows(blocker)).toEqual(['tbl']);
  });
});
