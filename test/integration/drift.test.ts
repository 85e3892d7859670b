import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli, sqlMigration, writeChain } from '../support/cli.js';
import { connect, createTestDatabase, tableNames, versionRows } from '../support/db.js';

describe('revisor drift', () => {
  it('reports a column dropped and an index added by hand since the last apply, and nothing before that', async () => {
    const url = await createTestDatabase();
    const env = { DATABASE_URL: url };
    const nothing = await runCli(['drift'], env);
    expect(nothing.code, nothing.stderr).toBe(0);
    expect(nothing.stdout).toContain('no schema recorded yet');

    expect((await runCli(['upgrade', 'head'], env)).code).toBe(0);
    const clean = await runCli(['drift'], env);
    expect(clean.code, clean.stdout + clean.stderr).toBe(0);
    expect(clean.stdout).toContain('no drift: the schema is as recorded after c0b7d0e366e7');

    const db = await connect(url);
    await db.query('ALTER TABLE organizations DROP COLUMN deleted_at');
    await db.query('CREATE INDEX by_hand ON users (created_at)');
    await db.end();
    const drifted = await runCli(['drift'], env);
    expect(drifted.code).toBe(33);
    expect(drifted.stdout).toContain('- column public.organizations.deleted_at timestamp with time zone');
    expect(drifted.stdout).toContain(
      '+ index public.by_hand CREATE INDEX by_hand ON public.users USING btree (created_at)',
    );
    expect(drifted.stderr).toContain('[SchemaDiffers]');
    const json = JSON.parse((await runCli(['drift', '--json'], env)).stdout);
    expect(json.differences).toHaveLength(2);

    // The next apply records the schema as it then is: drift is relative to the last apply.
    expect((await runCli(['downgrade', '-1'], env)).code).toBe(0);
    expect((await runCli(['drift'], env)).code).toBe(0);
  });

  it('records nothing with --no-record-schema', async () => {
    const env = { DATABASE_URL: await createTestDatabase() };
    expect((await runCli(['upgrade', 'head', '--no-record-schema'], env)).code).toBe(0);
    expect((await runCli(['drift'], env)).stdout).toContain('no schema recorded yet');
  });
});

describe('refusals of the schema and planning commands', () => {
  it('--rename naming what the schema does not have is Usage, and nothing is written', async () => {
    const dir = await writeChain({
      '1.sql': sqlMigration('base0001', null, 'CREATE TABLE t (a int);', 'DROP TABLE t;'),
    });
    const schema = join(dir, '..', `schema-${Date.now()}.sql`);
    await writeFile(schema, 'CREATE TABLE t (b int);');
    const env = { DATABASE_URL: await createTestDatabase(), REVISOR_MIGRATIONS: dir };
    const refused = await runCli(
      ['revision', '--autogenerate', '-m', 'x', '--schema', schema, '--rename', 't.nope:b'],
      env,
    );
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('--rename names what the current schema does not have: public.t.nope');
    expect(await readdir(dir)).toEqual(['1.sql']);
  });

  it('rows of which one needs another are refused by upgrade, naming the stamp that fixes them; nothing changes', async () => {
    const dir = await writeChain({
      '1.sql': sqlMigration('aaaa0001', null, 'CREATE TABLE a (id int);', 'DROP TABLE a;'),
      '2.sql': sqlMigration('bbbb0002', 'aaaa0001', 'CREATE TABLE b (id int);', 'DROP TABLE b;'),
      '3.sql': sqlMigration('cccc0003', 'bbbb0002', 'CREATE TABLE c (id int);', 'DROP TABLE c;'),
    });
    const url = await createTestDatabase();
    const env = { DATABASE_URL: url, REVISOR_MIGRATIONS: dir };
    expect((await runCli(['upgrade', 'bbbb0002'], env)).code).toBe(0);
    const db = await connect(url);
    await db.query("INSERT INTO alembic_version VALUES ('aaaa0001')");
    const refused = await runCli(['upgrade', 'head'], env);
    expect(refused.code).toBe(14);
    expect(refused.stderr).toContain("the version table's rows overlap: bbbb0002 already needs aaaa0001");
    expect(refused.stderr).toContain('revisor stamp bbbb0002');
    expect(await versionRows(db)).toEqual(['aaaa0001', 'bbbb0002']);
    expect(await tableNames(db)).not.toContain('c');
    await db.end();
  });
});
