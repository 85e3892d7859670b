import type pg from 'pg';
import { describe, expect, it } from 'vitest';
import { runCli, sqlMigration, startCli, writeChain } from '../support/cli.js';
import { connect, createTestDatabase, versionRows } from '../support/db.js';

async function indexState(db: pg.Client, name: string): Promise<'missing' | 'valid' | 'invalid'> {
  const { rows } = await db.query<{ valid: boolean }>(
    'SELECT i.indisvalid AS valid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relname = $1',
    [name],
  );
  if (rows.length === 0) return 'missing';
  return rows[0]!.valid ? 'valid' : 'invalid';
}

const table = sqlMigration(
  'one',
  null,
  'CREATE TABLE big (id int PRIMARY KEY, v int);\nINSERT INTO big SELECT g, g % 100 FROM generate_series(1, 1000) g;',
  'DROP TABLE big;',
);

describe('an interrupted CREATE INDEX CONCURRENTLY', () => {
  it.each([
    ['with IF NOT EXISTS', 'CREATE INDEX CONCURRENTLY IF NOT EXISTS big_v_idx ON big (v);'],
    ['without IF NOT EXISTS', 'CREATE INDEX CONCURRENTLY big_v_idx ON big (v);'],
  ])(
    '%s: the INVALID index a SIGKILL leaves is dropped and built again, never recorded over',
    async (_, create) => {
      const url = await createTestDatabase();
      const dir = await writeChain({
        '1.sql': table,
        '2.sql': sqlMigration('two', 'one', create, 'DROP INDEX CONCURRENTLY big_v_idx;', {
          transactional: false,
        }),
      });
      const env = { DATABASE_URL: url, REVISOR_MIGRATIONS: dir };
      const db = await connect(url);
      expect((await runCli(['upgrade', 'one'], env)).code).toBe(0);

      // An open transaction that wrote to the table makes the build wait after it has
      // created its (still INVALID) catalog entry.
      const blocker = await connect(url);
      await blocker.query('BEGIN');
      await blocker.query('INSERT INTO big VALUES (0, 0)');
      const run = startCli(['upgrade'], env);
      await expect.poll(() => indexState(db, 'big_v_idx'), { timeout: 30_000, interval: 50 }).toBe('invalid');
      run.child.kill('SIGKILL');
      await run.done;
      // The server notices the dead client (client_connection_check_interval) and cancels the build.
      await expect
        .poll(
          async () =>
            (
              await db.query(
                "SELECT 1 FROM pg_stat_activity WHERE query LIKE 'CREATE INDEX%' AND state = 'active'",
              )
            ).rowCount,
          { timeout: 30_000, interval: 100 },
        )
        .toBe(0);
      await blocker.query('COMMIT');
      expect(await indexState(db, 'big_v_idx')).toBe('invalid');
      expect(await versionRows(db)).toEqual(['one']);

      const rerun = await runCli(['upgrade'], env);
      expect(rerun.stderr).toContain('dropped INVALID index public.big_v_idx');
      expect(rerun.code).toBe(0);
      expect(await indexState(db, 'big_v_idx')).toBe('valid');
      expect(await versionRows(db)).toEqual(['two']);
      const { rows } = await db.query(
        "SELECT outcome FROM revisor_history WHERE revision = 'two' ORDER BY id",
      );
      expect(rows.map((r) => r.outcome)).toEqual(['interrupted', 'applied']);
    },
  );

  it('a unique build that failed on duplicates is rebuilt once the data is fixed', async () => {
    const url = await createTestDatabase();
    const dir = await writeChain({
      '1.sql': table,
      '2.sql': sqlMigration(
        'two',
        'one',
        'CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS big_v_key ON big (v);',
        'DROP INDEX CONCURRENTLY big_v_key;',
        { transactional: false },
      ),
    });
    const env = { DATABASE_URL: url, REVISOR_MIGRATIONS: dir };
    const db = await connect(url);
    const failed = await runCli(['upgrade'], env);
    expect(failed.code).toBe(24);
    expect(failed.stderr).toContain('could not create unique index');
    expect(await indexState(db, 'big_v_key')).toBe('invalid');
    expect(await versionRows(db)).toEqual(['one']);

    await db.query('DELETE FROM big WHERE id > 100');
    const rerun = await runCli(['upgrade'], env);
    expect(rerun.code).toBe(0);
    expect(rerun.stderr).toContain('dropped INVALID index public.big_v_key');
    expect(await indexState(db, 'big_v_key')).toBe('valid');
    expect(await versionRows(db)).toEqual(['two']);
  });
});
