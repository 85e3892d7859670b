import type pg from 'pg';
import { describe, expect, it } from 'vitest';
import { runCli, sqlMigration, startCli, writeChain } from '../support/cli.js';
import { connect, createTestDatabase, tableNames, versionRows } from '../support/db.js';

async function waitFor(db: pg.Client, query: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const { rows } = await db.query(query);
    if (rows[0]?.ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for: ${query}`);
}

// By wait event, not query text: several steps go to the server as one script, whose
// text pg_stat_activity shows only up to track_activity_query_size.
const sleepingQuery = "FROM pg_stat_activity WHERE wait_event = 'PgSleep' AND datname = current_database()";
const sleeping = `SELECT EXISTS (SELECT 1 ${sleepingQuery} AND state = 'active') AS ok`;
const notSleeping = `SELECT NOT EXISTS (SELECT 1 ${sleepingQuery}) AS ok`;

describe('a process killed mid-chain', () => {
  it('leaves a transactional step unapplied and the next run finishes', async () => {
    const url = await createTestDatabase();
    const dir = await writeChain({
      '1.sql': sqlMigration('one', null, 'CREATE TABLE one (id int);', 'DROP TABLE one;'),
      '2.sql': sqlMigration(
        'two',
        'one',
        'CREATE TABLE two (id int);\nSELECT pg_sleep(30);',
        'DROP TABLE two;',
      ),
      '3.sql': sqlMigration('three', 'two', 'CREATE TABLE three (id int);', 'DROP TABLE three;'),
    });
    const env = { DATABASE_URL: url, REVISOR_MIGRATIONS: dir };
    const db = await connect(url);
    const run = startCli(['upgrade'], env);
    await waitFor(db, sleeping);
    run.child.kill('SIGKILL');
    expect((await run.done).signal).toBe('SIGKILL');

    // The server rolls back the open transaction when the connection drops.
    await waitFor(db, notSleeping);
    expect(await versionRows(db)).toEqual(['one']);
    expect(await tableNames(db)).toEqual(['alembic_version', 'one', 'revisor_history']);

    await import('node:fs/promises').then((fs) =>
      fs.writeFile(
        `${dir}/2.sql`,
        sqlMigration('two', 'one', 'CREATE TABLE two (id int);', 'DROP TABLE two;'),
      ),
    );
    const rerun = await runCli(['upgrade'], env);
    expect(rerun.code).toBe(0);
    expect(await versionRows(db)).toEqual(['three']);
    expect(await tableNames(db)).toEqual(['alembic_version', 'one', 'revisor_history', 'three', 'two']);
  });

  it('marks an interrupted non-transactional step and runs it again', async () => {
    const url = await createTestDatabase();
    const dir = await writeChain({
      '1.sql': sqlMigration('one', null, 'CREATE TABLE one (id int);', 'DROP TABLE one;'),
      '2.sql': sqlMigration(
        'two',
        'one',
        'CREATE TABLE IF NOT EXISTS two (id int);\nSELECT pg_sleep(30) WHERE NOT EXISTS (SELECT 1 FROM two);\nINSERT INTO two VALUES (1);',
        'DROP TABLE two;',
        { transactional: false },
      ),
    });
    const env = { DATABASE_URL: url, REVISOR_MIGRATIONS: dir };
    const db = await connect(url);
    const run = startCli(['upgrade'], env);
    await waitFor(db, sleeping);
    run.child.kill('SIGKILL');
    await run.done;
    await waitFor(db, notSleeping);

    // A non-transactional step's earlier statements stay; the version row does not move.
    expect(await versionRows(db)).toEqual(['one']);
    expect(await tableNames(db)).toContain('two');
    const before = await db.query("SELECT outcome FROM revisor_history WHERE revision = 'two'");
    expect(before.rows).toEqual([{ outcome: 'running' }]);

    await db.query('INSERT INTO two VALUES (0)');
    const rerun = await runCli(['upgrade'], env);
    expect(rerun.code).toBe(0);
    expect(rerun.stderr).toContain('marked interrupted');
    expect(await versionRows(db)).toEqual(['two']);
    const after = await db.query("SELECT outcome FROM revisor_history WHERE revision = 'two' ORDER BY id");
    expect(after.rows).toEqual([{ outcome: 'interrupted' }, { outcome: 'applied' }]);
  });
});
