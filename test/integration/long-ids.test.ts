import { describe, expect, it } from 'vitest';
import { tablesProbe } from '../../src/migrator/sql/bookkeeping.js';
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

  it("reads the columns' lengths from pg_catalog as information_schema gives them", async () => {
    const db = await connect(await createTestDatabase());
    await db.query('CREATE SCHEMA probe');
    const shapes: [string, string][] = [
      ['varchar(46)', 'text'],
      ['char(40)', 'varchar'],
      ['text', 'varchar(32)'],
    ];
    for (const [versionType, revisionType] of shapes) {
      await db.query('DROP TABLE IF EXISTS probe.v, probe.h');
      await db.query(`CREATE TABLE probe.v (version_num ${versionType})`);
      await db.query(`CREATE TABLE probe.h (id int, revision ${revisionType})`);
      const probe = tablesProbe({ schema: 'probe', versionTable: 'v', historyTable: 'h' });
      const found = (await db.query(probe.sql, [...(probe.params ?? [])])).rows[0];
      const length = async (table: string, column: string) =>
        (
          await db.query(
            "SELECT character_maximum_length AS n FROM information_schema.columns WHERE table_schema = 'probe' AND table_name = $1 AND column_name = $2",
            [table, column],
          )
        ).rows[0]?.n ?? null;
      expect(found).toEqual({
        schema_exists: true,
        version_length: await length('v', 'version_num'),
        history_revision_length: await length('h', 'revision'),
        history_exists: true,
        history_has_schema: false,
      });
    }
    await db.query('ALTER TABLE probe.h ADD COLUMN backup text');
    await db.query('ALTER TABLE probe.v DROP COLUMN version_num');
    const probe = tablesProbe({ schema: 'probe', versionTable: 'v', historyTable: 'h' });
    expect((await db.query(probe.sql, [...(probe.params ?? [])])).rows[0]).toMatchObject({
      version_length: null,
      history_exists: true,
      history_has_schema: true,
    });
    const absent = tablesProbe({ schema: 'nowhere', versionTable: 'v', historyTable: 'h' });
    expect((await db.query(absent.sql, [...(absent.params ?? [])])).rows[0]).toEqual({
      schema_exists: false,
      version_length: null,
      history_revision_length: null,
      history_exists: false,
      history_has_schema: false,
    });
  });

  it('refuses the characters Alembic refuses', async () => {
    const dir = await writeChain({ '1.sql': sqlMigration('bad-id', null, 'SELECT 1;', 'SELECT 1;') });
    const result = await runCli(['heads', '--migrations', dir]);
    expect(result.code).toBe(10);
    expect(result.stderr).toContain('malformed revision id "bad-id"');
  });
});
