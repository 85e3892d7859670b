import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { linearChain, runCli, sqlMigration, writeChain } from '../support/cli.js';
import { connect, createTestDatabase, versionRows } from '../support/db.js';

describe('the chain index', () => {
  it('answers the no-op at head without reading the migrations, and is ignored once the files change', async () => {
    const url = await createTestDatabase();
    const dir = await writeChain(linearChain(5));
    const env = { DATABASE_URL: url, REVISOR_MIGRATIONS: dir };
    expect((await runCli(['upgrade'], env)).code).toBe(0);
    const written = await runCli(['index', '--migrations', dir]);
    expect(written.code).toBe(0);
    const index = JSON.parse(await readFile(join(dir, '.revisor-index.json'), 'utf8'));
    expect(index).toMatchObject({ format: 1, count: 5, heads: ['rev5'] });

    // A migration that cannot be read is not read: the index answers. Without the index
    // the same directory fails to load, so the answer above did come from the index.
    await rm(join(dir, '003.sql'));
    await mkdir(join(dir, '003.sql'));
    const noop = await runCli(['upgrade'], env);
    expect(noop.code).toBe(0);
    expect(noop.stdout).toContain('nothing to do: the database is at rev5');
    // Behind the head, the chain is loaded: the load error is reported, and the session
    // opened to compare heads is closed, so the process exits.
    const db = await connect(url);
    await db.query("UPDATE alembic_version SET version_num = 'rev4'");
    const behind = await runCli(['upgrade'], env);
    expect(behind.code).toBe(10);
    expect(behind.stderr).toContain('003.sql: is not a regular file');
    await db.query("UPDATE alembic_version SET version_num = 'rev5'");
    await rm(join(dir, '.revisor-index.json'));
    expect((await runCli(['upgrade'], env)).code).toBe(10);
    await rm(join(dir, '003.sql'), { recursive: true });
    await writeFile(join(dir, '003.sql'), linearChain(5)['003.sql']!);
    expect((await runCli(['index', '--migrations', dir])).code).toBe(0);

    // A new file makes the index stale: it is ignored, the chain is loaded and applied,
    // and revisor check says to bring the index up to date.
    await writeFile(
      join(dir, '006.sql'),
      sqlMigration('rev6', 'rev5', 'CREATE TABLE t6 (id int);', 'DROP TABLE t6;'),
    );
    const applied = await runCli(['upgrade'], env);
    expect(applied.code).toBe(0);
    expect(await versionRows(await connect(url))).toEqual(['rev6']);
    const stale = await runCli(['check', '--migrations', dir], { DATABASE_URL: url });
    expect(stale.code).toBe(30);
    expect(stale.stdout + stale.stderr).toContain('run "revisor index"');
  });

  it('is kept current by revisor revision once it exists', async () => {
    const dir = await writeChain(linearChain(2));
    expect(existsSync(join(dir, '.revisor-index.json'))).toBe(false);
    expect(
      (await runCli(['revision', '-m', 'no index yet', '--sql', '--rev-id', 'r3', '--migrations', dir])).code,
    ).toBe(0);
    expect(existsSync(join(dir, '.revisor-index.json'))).toBe(false);
    expect((await runCli(['index', '--migrations', dir])).code).toBe(0);
    expect(
      (await runCli(['revision', '-m', 'next', '--sql', '--rev-id', 'r4', '--migrations', dir])).code,
    ).toBe(0);
    const index = JSON.parse(await readFile(join(dir, '.revisor-index.json'), 'utf8'));
    expect(index).toMatchObject({ count: 4, heads: ['r4'] });
  });
});
