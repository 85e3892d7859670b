import { execFile as execFileCb } from 'node:child_process';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it, onTestFinished } from 'vitest';
import { revisorProject, runCli } from '../support/cli.js';
import { connect, createTestDatabase } from '../support/db.js';
import { pgDump14 } from '../support/pg-dump-14.js';
import { startPostgresMajor } from '../support/postgres-major.js';
import { testDir } from '../support/temp-dir.js';

const execFile = promisify(execFileCb);

/** A schema with what a dump carries: a sequence-backed id, an enum, a view, a function whose body has a backslash line. */
const schema = `
CREATE TYPE plan AS ENUM ('free', 'pro');
CREATE TABLE accounts (id bigserial PRIMARY KEY, name text NOT NULL, plan plan NOT NULL DEFAULT 'free');
CREATE INDEX accounts_name ON accounts (name);
CREATE VIEW pro_accounts AS SELECT id, name FROM accounts WHERE plan = 'pro';
CREATE FUNCTION slashes() RETURNS text LANGUAGE sql AS $body$
SELECT '\\\\'
$body$;
`;

async function dumpOf(major: 14 | 15): Promise<string> {
  const server = await startPostgresMajor(major);
  onTestFinished(() => server.stop());
  const db = await connect(server.url);
  await db.query(schema);
  const pgDump = major === 14 ? await pgDump14() : 'pg_dump';
  const { stdout } = await execFile(pgDump, ['-s', '--no-owner', server.url], { maxBuffer: 16 << 20 });
  const file = join(await testDir(`revisor-dump-${major}-`), 'schema.sql');
  await writeFile(file, stdout);
  return file;
}

describe("schema files as today's pg_dump writes them", () => {
  it.each([14, 15] as const)(
    'pg_dump %i -s: revision --autogenerate reads it and writes the schema as a revision',
    async (major) => {
      const file = await dumpOf(major);
      const text = await readFile(file, 'utf8');
      // 15.14 and later (Debian's client is newer) write \restrict; 14.10 predates it.
      expect(text.includes('\\restrict ')).toBe(major === 15);
      const dir = await revisorProject();
      const env = { DATABASE_URL: await createTestDatabase(), REVISOR_MIGRATIONS: dir };
      const made = await runCli(
        [
          'revision',
          '--autogenerate',
          '--sql',
          '-m',
          'from a dump',
          '--schema',
          file,
          '--rev-id',
          `dump${major}`,
        ],
        env,
      );
      expect(made.code, made.stderr).toBe(0);
      const written = await readFile(
        join(dir, (await readdir(dir)).find((f) => f.includes(`dump${major}`))!),
        'utf8',
      );
      expect(written).toMatch(/CREATE TABLE (public\.)?accounts \(/i);
      expect(written).toMatch(/CREATE TYPE (public\.)?plan AS ENUM/i);
      expect(written).toMatch(/CREATE VIEW (public\.)?pro_accounts/i);
      // The written revision rebuilds the dumped schema: no difference left.
      expect((await runCli(['upgrade', 'head'], env)).code).toBe(0);
      const same = await runCli(['diff', '--from', 'database', '--to', `file:${file}`], env);
      expect(same.code, same.stdout + same.stderr).toBe(0);
    },
  );

  it('a psql-only line is refused by name, file and line as a usage error; SQL that fails names its line', async () => {
    const dir = await revisorProject();
    const env = { DATABASE_URL: await createTestDatabase(), REVISOR_MIGRATIONS: dir };
    const folder = await testDir('revisor-bad-schema-');
    const metaFile = join(folder, 'meta.sql');
    await writeFile(metaFile, 'CREATE TABLE a (id int);\n\\i other.sql\nCREATE TABLE b (id int);\n');
    const meta = await runCli(['revision', '--autogenerate', '-m', 'x', '--schema', metaFile], env);
    expect(meta.code).toBe(2);
    expect(meta.stderr).toContain(`${metaFile}:2: \\i is a psql meta-command`);

    const badFile = join(folder, 'bad.sql');
    await writeFile(badFile, 'CREATE TABLE a (id int);\n\nCREATE TABLE b (id nosuchtype);\n');
    const bad = await runCli(['revision', '--autogenerate', '-m', 'x', '--schema', badFile], env);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain(`${badFile}:3: type "nosuchtype" does not exist`);
    expect(await readdir(dir)).not.toContain(expect.stringContaining('_x'));
  });
});
