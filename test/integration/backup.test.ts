import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { revisorProject, runCli, sqlMigration } from '../support/cli.js';
import { createTestDatabase } from '../support/db.js';
import { dropEmailModule } from '../support/fixtures.js';
import { startPostgresMajor, systemPgDumpMajor } from '../support/postgres-major.js';
import { testDir } from '../support/temp-dir.js';

const base = sqlMigration(
  'base0001',
  null,
  "CREATE TABLE users (id int PRIMARY KEY, email text);\nINSERT INTO users SELECT g, 'user' || g || '@example.com' FROM generate_series(1, 20) g;",
  'DROP TABLE users;',
);

describe('--backup: pg_dump before a run that destroys data', () => {
  let server: Awaited<ReturnType<typeof startPostgresMajor>>;
  beforeAll(async () => {
    server = await startPostgresMajor(15);
  }, 120_000);
  afterAll(() => server?.stop());

  async function database(): Promise<string> {
    const admin = new pg.Client({ connectionString: server.url });
    await admin.connect();
    const name = `backup_${Math.random().toString(36).slice(2, 10)}`;
    await admin.query(`CREATE DATABASE ${name}`);
    await admin.end();
    return server.url.replace(/\/postgres$/, `/${name}`);
  }
  const backupDir = async () => {
    const dir = await testDir('revisor-backup-');
    return dir;
  };

  it('dumps the schema and the destroyed table with a real pg_dump, records where, then runs', async () => {
    expect(systemPgDumpMajor()).toBe(15);
    const url = await database();
    const dir = await backupDir();
    const env = {
      DATABASE_URL: url,
      REVISOR_MIGRATIONS: await revisorProject({ '1.sql': base, '2.ts': dropEmailModule }),
    };
    expect((await runCli(['upgrade', 'base0001', '--backup', dir], env)).code).toBe(0);
    // Creating a table destroys nothing: no dump.
    expect(await readdir(dir)).toEqual([]);
    const up = await runCli(['upgrade', 'head', '--backup', dir], env);
    expect(up.code, up.stderr).toBe(0);
    const files = (await readdir(dir)).sort();
    expect(files).toHaveLength(2);
    const [data, schema] = await Promise.all(files.map((f) => readFile(join(dir, f), 'utf8')));
    expect(schema).toContain('CREATE TABLE public.users');
    expect(data).toContain('COPY public.users (id, email) FROM stdin;');
    expect(data).toContain('user7@example.com');
    const db = new pg.Client({ connectionString: url });
    await db.connect();
    const row = await db.query(
      "SELECT backup FROM revisor_history WHERE revision = 'drop0002' AND outcome = 'applied'",
    );
    expect(row.rows[0].backup).toContain(join(dir, files[0]!));
    await db.end();
  });

  it('without pg_dump, or with one older than the server: BackupFailed, and nothing runs', async () => {
    const url = await database();
    const env = {
      DATABASE_URL: url,
      REVISOR_MIGRATIONS: await revisorProject({ '1.sql': base, '2.ts': dropEmailModule }),
    };
    expect((await runCli(['upgrade', 'base0001'], env)).code).toBe(0);
    const dir = await backupDir();
    const missing = await runCli(
      ['upgrade', 'head', '--backup', dir, '--pg-dump', '/nonexistent/pg_dump'],
      env,
    );
    expect(missing.code).toBe(34);
    expect(missing.stderr).toContain('--backup needs pg_dump, and /nonexistent/pg_dump was not found');
    expect((await runCli(['current'], env)).stdout).toContain('base0001');

    // The tests' main server is newer than Debian's pg_dump.
    const newer = { ...env, DATABASE_URL: await createTestDatabase() };
    expect((await runCli(['upgrade', 'base0001'], newer)).code).toBe(0);
    const mismatch = await runCli(['upgrade', 'head', '--backup', dir], newer);
    expect(mismatch.code).toBe(34);
    expect(mismatch.stderr).toContain("pg_dump must be at least the server's major version");
    expect(mismatch.stderr).not.toMatch(/password=|:[^@/\s]+@/);
    expect((await runCli(['current'], newer)).stdout).toContain('base0001');
    expect(existsSync(dir)).toBe(true);
  });
});
