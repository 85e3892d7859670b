import { describe, expect, it } from 'vitest';
import { runCli, sqlMigration, writeChain } from '../support/cli.js';
import { connect, createTestDatabase, tableNames, versionRows } from '../support/db.js';

// r -> x1 ; r -> y1 ; (x1, y1) -> m
const branchedChain = () =>
  writeChain({
    'r.sql': sqlMigration('r', null, 'CREATE TABLE r (id int);', 'DROP TABLE r;'),
    'x1.sql': sqlMigration('x1', 'r', 'CREATE TABLE x1 (id int);', 'DROP TABLE x1;'),
    'y1.sql': sqlMigration('y1', 'r', 'CREATE TABLE y1 (id int);', 'DROP TABLE y1;'),
    'm.sql': sqlMigration('m', 'x1, y1', 'CREATE TABLE m (id int);', 'DROP TABLE m;'),
  });

describe('the version table follows Alembic', () => {
  it('keeps one row per head through branch, merge and unmerge', async () => {
    const url = await createTestDatabase();
    const env = { DATABASE_URL: url, REVISOR_MIGRATIONS: await branchedChain() };
    const db = await connect(url);

    expect((await runCli(['upgrade', 'x1'], env)).code).toBe(0);
    expect(await versionRows(db)).toEqual(['x1']);
    // Entering the other branch inserts a row beside x1.
    expect((await runCli(['upgrade', 'y1'], env)).code).toBe(0);
    expect(await versionRows(db)).toEqual(['x1', 'y1']);
    // The merge deletes one head and updates the other.
    expect((await runCli(['upgrade', 'head'], env)).code).toBe(0);
    expect(await versionRows(db)).toEqual(['m']);
    // Unmerge restores both parents.
    expect((await runCli(['downgrade', 'x1'], env)).code).toBe(0);
    expect(await versionRows(db)).toEqual(['x1', 'y1']);
    // Leaving one branch at its branch point deletes its row only.
    expect((await runCli(['downgrade', 'r'], env)).code).toBe(0);
    expect(await versionRows(db)).toEqual(['r']);
    expect(await tableNames(db)).toEqual(['alembic_version', 'r', 'revisor_history']);
  });

  it('names the heads when "head" is ambiguous, and upgrades "heads"', async () => {
    const url = await createTestDatabase();
    const dir = await writeChain({
      'r.sql': sqlMigration('r', null, 'SELECT 1;', 'SELECT 1;'),
      'a.sql': sqlMigration('a1', 'r', 'SELECT 1;', 'SELECT 1;'),
      'b.sql': sqlMigration('b1', 'r', 'SELECT 1;', 'SELECT 1;'),
    });
    const env = { DATABASE_URL: url, REVISOR_MIGRATIONS: dir };
    const head = await runCli(['upgrade', 'head'], env);
    expect(head.code).toBe(13);
    expect(head.stderr).toContain('several heads (a1, b1)');
    expect((await runCli(['upgrade', 'heads'], env)).code).toBe(0);
    expect(await versionRows(await connect(url))).toEqual(['a1', 'b1']);
  });

  it("creates the table with Alembic's own DDL and adopts a database Alembic managed", async () => {
    const url = await createTestDatabase();
    const db = await connect(url);
    // What `alembic upgrade 972fc63ffb69` leaves: its version table, no revisor history.
    const env = { DATABASE_URL: url };
    expect((await runCli(['upgrade', '972fc63ffb69'], env)).code).toBe(0);
    await db.query('DROP TABLE revisor_history');
    const { rows } = await db.query(
      `SELECT a.attname, format_type(a.atttypid, a.atttypmod) AS type, a.attnotnull, c.conname
         FROM pg_attribute a JOIN pg_constraint c ON c.conrelid = a.attrelid AND c.contype = 'p'
        WHERE a.attrelid = 'alembic_version'::regclass AND a.attnum > 0`,
    );
    expect(rows).toEqual([
      {
        attname: 'version_num',
        type: 'character varying(32)',
        attnotnull: true,
        conname: 'alembic_version_pkc',
      },
    ]);

    const up = await runCli(['upgrade', 'head'], env);
    expect(up.code).toBe(0);
    expect(await versionRows(db)).toEqual(['c0b7d0e366e7']);
    expect(await tableNames(db)).toContain('permission_decisions');
  });

  it('keeps the version table and history where configured', async () => {
    const url = await createTestDatabase();
    const dir = await writeChain({
      'a.sql': sqlMigration('a1', null, 'CREATE TABLE a (id int);', 'DROP TABLE a;'),
    });
    const env = { DATABASE_URL: url, REVISOR_MIGRATIONS: dir };
    const result = await runCli(
      [
        'upgrade',
        '--version-schema',
        'ops',
        '--version-table',
        'app_version',
        '--history-table',
        'app_history',
      ],
      env,
    );
    expect(result.code).toBe(0);
    const db = await connect(url);
    expect(await tableNames(db, 'ops')).toEqual(['app_history', 'app_version']);
    expect(await versionRows(db, 'ops.app_version')).toEqual(['a1']);
  });
});
