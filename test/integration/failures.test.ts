import { appendFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { linearChain, runCli, sqlMigration, writeChain } from '../support/cli.js';
import { connect, createTestDatabase, tableNames, versionRows } from '../support/db.js';

describe('failures leave the database consistent and say what happened', () => {
  it('a failing migration leaves schema and version untouched and names the statement', async () => {
    const url = await createTestDatabase();
    const dir = await writeChain({
      '1.sql': sqlMigration('good1', null, 'CREATE TABLE ok (id int);', 'DROP TABLE ok;'),
      '2.sql': sqlMigration(
        'bad2',
        'good1',
        'CREATE TABLE half (id int);\nINSERT INTO ok (id)\n  VALUES (nonsense_fn(1));',
        'DROP TABLE half;',
      ),
    });
    const result = await runCli(['upgrade'], { DATABASE_URL: url, REVISOR_MIGRATIONS: dir });
    expect(result.code).toBe(24);
    expect(result.stderr).toContain('[MigrationFailed]');
    expect(result.stderr).toContain('upgrade of bad2');
    expect(result.stderr).toContain('function nonsense_fn(integer) does not exist');
    expect(result.stderr).toContain('statement: INSERT INTO ok (id)');
    // The statement starts on line 6 of the file; PostgreSQL points into its second line.
    expect(result.stderr).toMatch(/at: line 2, column 11 of the statement \(.*2\.sql:7\)/);
    expect(result.stderr).toContain('hint: No function matches');
    expect(result.stderr).toContain('rolled back');

    const db = await connect(url);
    expect(await versionRows(db)).toEqual(['good1']);
    expect(await tableNames(db)).toEqual(['alembic_version', 'ok', 'revisor_history']);
    const { rows } = await db.query(`SELECT revision, outcome FROM revisor_history ORDER BY id`);
    expect(rows).toEqual([
      { revision: 'good1', outcome: 'applied' },
      { revision: 'bad2', outcome: 'failed' },
    ]);
  });

  it('all-in-one mode rolls every step back when one fails', async () => {
    const url = await createTestDatabase();
    const files = linearChain(3);
    files['004.sql'] = sqlMigration('rev4', 'rev3', 'SELECT 1/0;', 'SELECT 1;');
    const dir = await writeChain(files);
    const result = await runCli(['upgrade', '--transaction-mode', 'all', '--json'], {
      DATABASE_URL: url,
      REVISOR_MIGRATIONS: dir,
    });
    expect(result.code).toBe(24);
    expect(JSON.parse(result.stdout).steps.map((s: { status: string }) => s.status)).toEqual([
      'rolled-back',
      'rolled-back',
      'rolled-back',
      'failed',
    ]);
    const db = await connect(url);
    expect(await versionRows(db)).toEqual([]);
    expect(await tableNames(db)).toEqual(['alembic_version', 'revisor_history']);
  });

  it('refuses to upgrade over an applied migration whose SQL changed', async () => {
    const url = await createTestDatabase();
    const dir = await writeChain(linearChain(2));
    const env = { DATABASE_URL: url, REVISOR_MIGRATIONS: dir };
    expect((await runCli(['upgrade', 'rev1'], env)).code).toBe(0);
    await writeFile(
      join(dir, '001.sql'),
      sqlMigration('rev1', null, 'CREATE TABLE t1 (id bigint PRIMARY KEY);', 'DROP TABLE t1;'),
    );
    const refused = await runCli(['upgrade'], env);
    expect(refused.code).toBe(16);
    expect(refused.stderr).toContain('[ChecksumMismatch]');
    expect(refused.stderr).toContain('rev1');
    const db = await connect(url);
    expect(await versionRows(db)).toEqual(['rev1']);
    expect(await tableNames(db)).not.toContain('t2');

    const forced = await runCli(['upgrade', '--allow-checksum-mismatch'], env);
    expect(forced.code).toBe(0);
    expect(await versionRows(db)).toEqual(['rev2']);
  });

  it('refuses a version table that names a revision the chain does not know', async () => {
    const url = await createTestDatabase();
    const dir = await writeChain(linearChain(2));
    const env = { DATABASE_URL: url, REVISOR_MIGRATIONS: dir };
    const db = await connect(url);
    await db.query(
      `CREATE TABLE alembic_version (version_num varchar(32) NOT NULL, CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num));
       INSERT INTO alembic_version VALUES ('deadbeef0000');`,
    );
    for (const args of [['upgrade'], ['downgrade', 'base'], ['current']]) {
      const result = await runCli(args, env);
      expect(result.code).toBe(15);
      expect(result.stderr).toContain('deadbeef0000');
    }
    expect(await versionRows(db)).toEqual(['deadbeef0000']);
    expect(await tableNames(db)).toEqual(['alembic_version']);

    // stamp --purge is the documented way out.
    expect((await runCli(['stamp', 'rev1', '--purge'], env)).code).toBe(0);
    expect(await versionRows(db)).toEqual(['rev1']);
  });

  it('reports the migration file and line of a load error', async () => {
    const dir = await writeChain({
      'x.sql': '-- revision: abc\n-- down_revision: zzz\n-- migrate:upgrade\n-- migrate:downgrade\n',
    });
    const result = await runCli(['heads', '--migrations', dir]);
    expect(result.code).toBe(10);
    expect(result.stderr).toMatch(/x\.sql:2: revision abc has unknown down_revision zzz/);
  });

  it('rejects a downgrade target that is not applied without touching anything', async () => {
    const url = await createTestDatabase();
    const dir = await writeChain(linearChain(3));
    const env = { DATABASE_URL: url, REVISOR_MIGRATIONS: dir };
    expect((await runCli(['upgrade', 'rev1'], env)).code).toBe(0);
    const result = await runCli(['downgrade', 'rev3'], env);
    expect(result.code).toBe(14);
    expect(result.stderr).toContain('not applied');
    await appendFile(join(dir, '001.sql'), '');
    expect(await versionRows(await connect(url))).toEqual(['rev1']);
  });
});
