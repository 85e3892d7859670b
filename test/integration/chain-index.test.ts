import { mkdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { linearChain, runCli, sqlMigration, writeChain } from '../support/cli.js';
import { connect, createTestDatabase, versionRows } from '../support/db.js';

const readIndex = async (dir: string) => JSON.parse(await readFile(join(dir, '.revisor-index.json'), 'utf8'));

describe('the chain index', () => {
  it('is written by the run that loads the chain, and a stale one is never trusted: edit, add, remove', async () => {
    const url = await createTestDatabase();
    const dir = await writeChain(linearChain(5));
    const env = { DATABASE_URL: url, REVISOR_MIGRATIONS: dir };
    expect((await runCli(['upgrade'], env)).code).toBe(0);
    expect(await readIndex(dir)).toMatchObject({ format: 2, sealed: false, count: 5, heads: ['rev5'] });
    expect((await runCli(['upgrade'], env)).stdout).toContain('nothing to do: the database is at rev5');

    // An edit of the same size that renames the head: a trusted stale index would answer
    // "nothing to do"; the chain is loaded and no longer knows the database's rev5.
    const original = linearChain(5)['005.sql']!;
    await writeFile(join(dir, '005.sql'), original.replaceAll('rev5', 'rev9'));
    const edited = await runCli(['upgrade'], env);
    expect(edited.code).not.toBe(0);
    expect(edited.stderr).toContain('rev5');
    await writeFile(join(dir, '005.sql'), original);

    // An added revision is applied, and the index follows it.
    await writeFile(
      join(dir, '006.sql'),
      sqlMigration('rev6', 'rev5', 'CREATE TABLE t6 (id int);', 'DROP TABLE t6;'),
    );
    expect((await runCli(['upgrade'], env)).code).toBe(0);
    expect(await versionRows(await connect(url))).toEqual(['rev6']);
    expect(await readIndex(dir)).toMatchObject({ count: 6, heads: ['rev6'] });

    // A removed revision: the index still names rev6, the database is at rev6, and the
    // chain without 006.sql does not know it.
    await rm(join(dir, '006.sql'));
    const removed = await runCli(['upgrade'], env);
    expect(removed.code).not.toBe(0);
    expect(removed.stderr).toContain('rev6');
  });

  it('sealed, is trusted on file names alone: the no-op reads no migration', async () => {
    const url = await createTestDatabase();
    const dir = await writeChain(linearChain(5));
    const env = { DATABASE_URL: url, REVISOR_MIGRATIONS: dir };
    expect((await runCli(['upgrade'], env)).code).toBe(0);
    const sealed = await runCli(['index', '--seal', '--migrations', dir]);
    expect(sealed.code).toBe(0);
    expect(sealed.stdout).toContain('(sealed)');
    expect(await readIndex(dir)).toMatchObject({ format: 2, sealed: true, count: 5, heads: ['rev5'] });

    // A migration that cannot be read is not read: the sealed index answers.
    await rm(join(dir, '003.sql'));
    await mkdir(join(dir, '003.sql'));
    const noop = await runCli(['upgrade'], env);
    expect(noop.code).toBe(0);
    expect(noop.stdout).toContain('nothing to do: the database is at rev5');
    // Behind the head the chain is loaded, and the session opened to compare heads closes.
    const db = await connect(url);
    await db.query("UPDATE alembic_version SET version_num = 'rev4'");
    const behind = await runCli(['upgrade'], env);
    expect(behind.code).toBe(10);
    expect(behind.stderr).toContain('003.sql: is not a regular file');

    // Unsealed, the same directory's stamp no longer matches: the chain is loaded.
    await db.query("UPDATE alembic_version SET version_num = 'rev5'");
    await rm(join(dir, '003.sql'), { recursive: true });
    await writeFile(join(dir, '003.sql'), linearChain(5)['003.sql']!);
    expect((await runCli(['index', '--migrations', dir])).code).toBe(0);
    await rm(join(dir, '003.sql'));
    await mkdir(join(dir, '003.sql'));
    expect((await runCli(['upgrade'], env)).code).toBe(10);
  });

  it('sealed, answers on one stat of the directory while its mtime holds, and sees adds and removes', async () => {
    const url = await createTestDatabase();
    const dir = await writeChain(linearChain(5));
    const env = { DATABASE_URL: url, REVISOR_MIGRATIONS: dir };
    expect((await runCli(['upgrade'], env)).code).toBe(0);
    expect((await runCli(['index', '--seal', '--migrations', dir])).code).toBe(0);
    const { directoryMtimeMs } = await readIndex(dir);
    expect(directoryMtimeMs).toBe((await stat(dir)).mtimeMs);

    // An added revision moves the directory's mtime: it is applied, not answered "nothing to do".
    const rev6 = sqlMigration('rev6', 'rev5', 'CREATE TABLE t6 (id int);', 'DROP TABLE t6;');
    await writeFile(join(dir, '006.sql'), rev6);
    expect((await runCli(['upgrade'], env)).stdout).toContain('applied 1 revision(s)');
    expect(await versionRows(await connect(url))).toEqual(['rev6']);

    // Removed again, the sealed index names rev5 and the database is at rev6: not trusted.
    await rm(join(dir, '006.sql'));
    const removed = await runCli(['upgrade'], env);
    expect(removed.code).not.toBe(0);
    expect(removed.stderr).toContain('rev6');

    // The directory is not listed while its mtime holds: a file slipped in with the mtime put
    // back (what no build does) goes unseen, which shows the one-stat path is the one taken.
    await writeFile(join(dir, '006.sql'), rev6);
    await utimes(dir, new Date(directoryMtimeMs), new Date(directoryMtimeMs));
    await (await connect(url)).query("UPDATE alembic_version SET version_num = 'rev5'");
    expect((await runCli(['upgrade'], env)).stdout).toContain('nothing to do: the database is at rev5');
  });

  it('revisor check fails on a sealed index whose heads an in-place edit changed', async () => {
    const url = await createTestDatabase();
    const dir = await writeChain(linearChain(3));
    expect((await runCli(['index', '--seal', '--migrations', dir])).code).toBe(0);
    await writeFile(
      join(dir, '003.sql'),
      sqlMigration('rev3b', 'rev2', 'CREATE TABLE t3 (id int);', 'DROP TABLE t3;'),
    );
    const stale = await runCli(['check', '--migrations', dir], { DATABASE_URL: url });
    expect(stale.code).toBe(30);
    expect(stale.stdout + stale.stderr).toContain('run "revisor index --seal"');
  });

  it('is written by revisor revision', async () => {
    const dir = await writeChain(linearChain(2));
    expect(
      (await runCli(['revision', '-m', 'next', '--sql', '--rev-id', 'r3', '--migrations', dir])).code,
    ).toBe(0);
    expect(await readIndex(dir)).toMatchObject({ count: 3, heads: ['r3'], sealed: false });
  });
});
