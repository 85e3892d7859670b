import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli, sqlMigration, writeChain } from '../support/cli.js';
import { connect, createTestDatabase, versionRows } from '../support/db.js';

const chain = () =>
  writeChain({
    '1.sql': sqlMigration('add00001', null, 'CREATE TABLE t (id int, note text);', 'DROP TABLE t;'),
    '2.sql': sqlMigration(
      'drop0002',
      'add00001',
      'ALTER TABLE t DROP COLUMN note;',
      'ALTER TABLE t ADD COLUMN note text;',
    ),
  });

describe('revisor plan --out and revisor apply', () => {
  it('writes the plan with what may destroy data, and applies exactly it', async () => {
    const dir = await chain();
    const env = { DATABASE_URL: await createTestDatabase(), REVISOR_MIGRATIONS: dir };
    const file = join(dir, '..', `plan-${Date.now()}.json`);
    const planned = await runCli(['plan', '--out', file], env);
    expect(planned.code, planned.stderr).toBe(0);
    expect(planned.stdout).toContain('drop0002  (may destroy data)');
    const written = JSON.parse(await readFile(file, 'utf8'));
    expect(
      written.steps.map((s: { revision: string; destructive: boolean }) => [s.revision, s.destructive]),
    ).toEqual([
      ['add00001', false],
      ['drop0002', true],
    ]);
    const applied = await runCli(['apply', file], env);
    expect(applied.code, applied.stderr).toBe(0);
    const db = await connect(env.DATABASE_URL);
    expect(await versionRows(db)).toEqual(['drop0002']);
    await db.end();
  });

  it('refuses a plan the database or the chain moved away from: PlanOutdated, nothing run', async () => {
    const dir = await chain();
    const env = { DATABASE_URL: await createTestDatabase(), REVISOR_MIGRATIONS: dir };
    const file = join(dir, '..', `plan-${Date.now()}.json`);
    expect((await runCli(['plan', '--out', file], env)).code).toBe(0);
    expect((await runCli(['upgrade', 'add00001'], env)).code).toBe(0);
    const moved = await runCli(['apply', file], env);
    expect(moved.code).toBe(18);
    expect(moved.stderr).toContain('the database moved since');

    expect((await runCli(['plan', '--out', file], env)).code).toBe(0);
    await writeFile(
      join(dir, '2.sql'),
      sqlMigration(
        'drop0002',
        'add00001',
        'ALTER TABLE t DROP COLUMN id;',
        'ALTER TABLE t ADD COLUMN id int;',
      ),
    );
    const edited = await runCli(['apply', file], env);
    expect(edited.code).toBe(18);
    expect(edited.stderr).toContain('the migrations changed since');
    const db = await connect(env.DATABASE_URL);
    expect(await versionRows(db)).toEqual(['add00001']);
    await db.end();
  });
});
