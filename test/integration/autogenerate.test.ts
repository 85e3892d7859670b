import { readdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot, revisorProject, runCli } from '../support/cli.js';
import { connect, createTestDatabase, versionRows } from '../support/db.js';
import { testDir } from '../support/temp-dir.js';

const embedded = join(repoRoot, 'dist/migrations');

/**
 * A project whose chain is the embedded chain's first `count` revisions (symlinks, so they
 * import the build's op API), and which resolves `import … from 'revisor'` as an
 * application that installed revisor does.
 */
async function project(count: number): Promise<string> {
  const dir = await revisorProject();
  for (const file of (await chainFiles()).slice(0, count))
    await symlink(join(embedded, file), join(dir, file));
  return dir;
}

const chainFiles = async () => (await readdir(embedded)).filter((f) => f.endsWith('.js')).sort();
const idOf = (file: string) => file.split('_')[2]!;

/** The embedded chain's schema at `revision`, as a declarative schema file (its offline SQL). */
async function schemaFileAt(revision: string): Promise<string> {
  const out = await runCli(['sql', 'upgrade', `base:${revision}`]);
  expect(out.code, out.stderr).toBe(0);
  const path = join(await testDir('revisor-schema-'), `${revision}.sql`);
  await writeFile(path, out.stdout);
  return path;
}

describe('revision --autogenerate, on the embedded chain', () => {
  it('from an empty chain to the head schema: a TypeScript revision that rebuilds it exactly, and a downgrade to empty', async () => {
    const files = await chainFiles();
    const head = idOf(files.at(-1)!);
    const schema = await schemaFileAt(head);
    const dir = await project(0);
    const url = await createTestDatabase();
    const env = { DATABASE_URL: url, REVISOR_MIGRATIONS: dir };
    const made = await runCli(
      ['revision', '--autogenerate', '-m', 'whole schema', '--schema', schema, '--rev-id', 'auto0000'],
      env,
    );
    expect(made.code, made.stderr).toBe(0);
    expect(made.stdout).toContain('create table public.organizations');
    const written = (await readdir(dir)).find((f) => f.includes('auto0000'))!;
    const source = await readFile(join(dir, written), 'utf8');
    expect(source).toMatch(/^import \{ column, defineMigration, sa, sql \} from 'revisor';/);
    expect(source).toContain('op.createTable("organizations", column("id", sa.UUID(), { nullable: false })');

    expect((await runCli(['upgrade', 'head'], env)).code).toBe(0);
    const same = await runCli(['diff', '--from', 'database', '--to', `file:${schema}`], env);
    expect(same.code, same.stdout + same.stderr).toBe(0);
    expect((await runCli(['downgrade', 'base'], env)).code).toBe(0);
    const empty = await runCli(['diff', '--from', 'database', '--to', 'base'], env);
    expect(empty.code, empty.stdout).toBe(0);
  });

  it('for every pair of adjacent revisions: the generated step upgrades to the next schema and downgrades back (SQL output)', async () => {
    const files = await chainFiles();
    for (let k = 1; k < files.length; k++) {
      const dir = await project(k);
      const next = await schemaFileAt(idOf(files[k]!));
      const previous = await schemaFileAt(idOf(files[k - 1]!));
      const url = await createTestDatabase();
      const env = { DATABASE_URL: url, REVISOR_MIGRATIONS: dir };
      const made = await runCli(
        ['revision', '--autogenerate', '--sql', '-m', `step ${k}`, '--schema', next, '--rev-id', `auto${k}`],
        env,
      );
      expect(made.code, made.stderr).toBe(0);
      expect((await runCli(['upgrade', 'head'], env)).code).toBe(0);
      const db = await connect(url);
      expect(await versionRows(db)).toEqual([`auto${k}`]);
      await db.end();
      const up = await runCli(['diff', '--from', 'database', '--to', `file:${next}`], env);
      expect(up.code, `${files[k]}: ${up.stdout}`).toBe(0);
      expect((await runCli(['downgrade', '-1'], env)).code).toBe(0);
      const down = await runCli(['diff', '--from', 'database', '--to', `file:${previous}`], env);
      expect(down.code, `${files[k]} down: ${down.stdout}`).toBe(0);
    }
  });

  it('writes nothing when the chain already has the schema; diff and check --schema say the same', async () => {
    const files = await chainFiles();
    const head = idOf(files.at(-1)!);
    const schema = await schemaFileAt(head);
    const dir = await project(files.length);
    const env = { DATABASE_URL: await createTestDatabase(), REVISOR_MIGRATIONS: dir };
    const none = await runCli(['revision', '--autogenerate', '-m', 'nothing', '--schema', schema], env);
    expect(none.code).toBe(0);
    expect(none.stdout).toContain('no changes');
    expect((await readdir(dir)).length).toBe(files.length);
    expect((await runCli(['check', '--schema', schema], env)).code).toBe(0);

    // One column more in the desired schema: diff exits 33 naming it, check fails with the difference.
    const wider = join(await testDir('revisor-schema-'), 'wider.sql');
    await writeFile(
      wider,
      `${await readFile(schema, 'utf8')}\nALTER TABLE organizations ADD COLUMN region text;\n`,
    );
    const differs = await runCli(['diff', '--from', 'head', '--to', `file:${wider}`], env);
    expect(differs.code).toBe(33);
    expect(differs.stdout).toContain('add column public.organizations.region');
    const checked = await runCli(['check', '--schema', wider], env);
    expect(checked.code).toBe(30);
    expect(checked.stdout).toContain('+ column public.organizations.region text');
  });
});
