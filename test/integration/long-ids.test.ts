import { describe, expect, it } from 'vitest';
import { runCli, sqlMigration, writeChain } from '../support/cli.js';
import { connect, createTestDatabase, versionRows } from '../support/db.js';

const longId = 'release.2026_11_28.add_users_table_for_billing';

const chain = () =>
  writeChain({
    '1.sql': sqlMigration('base0001', null, 'CREATE TABLE one (id int);', 'DROP TABLE one;'),
    '2.sql': sqlMigration(longId, 'base0001', 'CREATE TABLE two (id int);', 'DROP TABLE two;'),
  });

describe("revision ids of Alembic's full form", () => {
  it('refuses an id longer than the version column, names the fix, and runs once it is widened', async () => {
    const url = await createTestDatabase();
    const env = { DATABASE_URL: url, REVISOR_MIGRATIONS: await chain() };
    const refused = await runCli(['upgrade'], env);
    expect(refused.code).toBe(17);
    expect(refused.stderr).toContain(`${longId} are longer than the version column (varchar(32))`);
    expect(refused.stderr).toContain(
      'ALTER TABLE public.alembic_version ALTER COLUMN version_num TYPE varchar(46)',
    );
    const db = await connect(url);
    expect(await versionRows(db)).toEqual([]);
    expect((await db.query("SELECT to_regclass('public.one') AS t")).rows).toEqual([{ t: null }]);

    await db.query('ALTER TABLE public.alembic_version ALTER COLUMN version_num TYPE varchar(46)');
    const done = await runCli(['upgrade'], env);
    expect(done.code).toBe(0);
    expect(await versionRows(db)).toEqual([longId]);
    const { rows } = await db.query(
      "SELECT revision FROM revisor_history WHERE outcome = 'applied' ORDER BY id",
    );
    expect(rows.map((r) => r.revision)).toEqual(['base0001', longId]);
    expect((await runCli(['downgrade', `${longId}-1`], env)).code).toBe(0);
    expect(await versionRows(db)).toEqual(['base0001']);
  });

  it('creates a wider version table with --version-length', async () => {
    const url = await createTestDatabase();
    const env = { DATABASE_URL: url, REVISOR_MIGRATIONS: await chain() };
    expect((await runCli(['upgrade', '--version-length', '64'], env)).code).toBe(0);
    const db = await connect(url);
    expect(await versionRows(db)).toEqual([longId]);
    const { rows } = await db.query(
      "SELECT character_maximum_length AS n FROM information_schema.columns WHERE table_name = 'alembic_version'",
    );
    expect(rows).toEqual([{ n: 64 }]);
  });

  it('widens an old history table whose revision column was varchar(32)', async () => {
    const url = await createTestDatabase();
    const db = await connect(url);
    const env = { DATABASE_URL: url, REVISOR_MIGRATIONS: await chain() };
    expect((await runCli(['upgrade', 'base0001'], env)).code).toBe(0);
    await db.query('ALTER TABLE revisor_history ALTER COLUMN revision TYPE varchar(32)');
    expect((await runCli(['upgrade', '--version-length', '64'], env)).code).toBe(17);
    await db.query('ALTER TABLE public.alembic_version ALTER COLUMN version_num TYPE varchar(64)');
    expect((await runCli(['upgrade'], env)).code).toBe(0);
    const { rows } = await db.query(
      "SELECT data_type FROM information_schema.columns WHERE table_name = 'revisor_history' AND column_name = 'revision'",
    );
    expect(rows).toEqual([{ data_type: 'text' }]);
  });

  it('refuses the characters Alembic refuses', async () => {
    const dir = await writeChain({ '1.sql': sqlMigration('bad-id', null, 'SELECT 1;', 'SELECT 1;') });
    const result = await runCli(['heads', '--migrations', dir]);
    expect(result.code).toBe(10);
    expect(result.stderr).toContain('malformed revision id "bad-id"');
  });
});
