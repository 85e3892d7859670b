import { chmod, cp, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot, runCli, sqlMigration, writeChain } from '../support/cli.js';
import { connect, tableNames, versionRows } from '../support/db.js';
import { testDir } from '../support/temp-dir.js';

describe('revision, merge, history and show', () => {
  it('creates revisions named by the template, then a merge of two heads', async () => {
    const dir = await writeChain({});
    const first = await runCli([
      'revision',
      '-m',
      'Create widgets!',
      '--sql',
      '--rev-id',
      'aaa111',
      '--migrations',
      dir,
    ]);
    expect(first.code).toBe(0);
    const second = await runCli([
      'revision',
      '-m',
      'add gadgets',
      '--sql',
      '--rev-id',
      'bbb222',
      '--migrations',
      dir,
    ]);
    expect(second.code).toBe(0);
    const side = [
      'revision',
      '-m',
      'side',
      '--sql',
      '--head',
      'aaa111',
      '--rev-id',
      'ccc333',
      '--migrations',
      dir,
    ];
    // As in Alembic, a branch from a revision that is not a head needs --splice.
    const notHead = await runCli(side);
    expect(notHead.code).toBe(2);
    expect(notHead.stderr).toContain('aaa111 is not a head revision; pass --splice');
    const branch = await runCli([...side, '--splice']);
    expect(branch.code).toBe(0);
    // Beside the revisions, the chain index `revision` keeps current.
    const files = (await readdir(dir)).filter((f) => f !== '.revisor-index.json').sort();
    expect(files).toHaveLength(3);
    expect(files[0]).toMatch(/^\d{8}_\d{4}_aaa111_create_widgets\.sql$/);
    expect(files.find((f) => f.includes('ccc333'))).toMatch(/_ccc333_side\.sql$/);
    expect(await readFile(join(dir, files.find((f) => f.includes('bbb222'))!), 'utf8')).toContain(
      '-- down_revision: aaa111',
    );

    const blocked = await runCli(['revision', '-m', 'more', '--migrations', dir]);
    expect(blocked.code).toBe(13);
    expect(blocked.stderr).toContain('several heads (bbb222, ccc333)');

    const merged = await runCli([
      'merge',
      '-m',
      'merge heads',
      'heads',
      '--sql',
      '--rev-id',
      'ddd444',
      '--migrations',
      dir,
      '--json',
    ]);
    expect(merged.code).toBe(0);
    expect(JSON.parse(merged.stdout).downRevisions).toEqual(['bbb222', 'ccc333']);

    const heads = await runCli(['heads', '--migrations', dir]);
    expect(heads.stdout.trim()).toBe('ddd444 (head) (mergepoint)');
    const branches = await runCli(['branches', '--migrations', dir]);
    expect(branches.stdout.trim().split('\n')).toEqual([
      'aaa111 (base) (branchpoint), Create widgets!',
      '       -> bbb222, add gadgets',
      '       -> ccc333, side',
    ]);
    const history = await runCli(['history', '--migrations', dir, '-r', 'bbb222:']);
    expect(history.stdout.trim().split('\n')).toEqual([
      'bbb222, ccc333 -> ddd444 (head) (mergepoint), merge heads',
      'aaa111 -> bbb222, add gadgets',
    ]);
  });

  it('starts and extends a labelled branch, with a dependency, and shows the labels', async () => {
    const dir = await writeChain({ 'a.sql': sqlMigration('core0001', null, 'SELECT 1;', 'SELECT 1;') });
    const make = (rev: string, ...args: string[]) =>
      runCli(['revision', '-m', rev, '--sql', '--rev-id', rev, '--migrations', dir, ...args]);
    expect((await make('bill0001', '--head', 'base', '--branch-label', 'billing')).code).toBe(0);
    expect((await make('bill0002', '--head', 'billing@head', '--depends-on', 'core')).code).toBe(0);
    const taken = await make('bill0003', '--head', 'base', '--branch-label', 'billing');
    expect(taken.code).toBe(2);
    expect(taken.stderr).toContain('branch label "billing" is already used by revision bill0001');
    const second = await readFile(
      join(dir, (await readdir(dir)).find((f) => f.includes('bill0002'))!),
      'utf8',
    );
    expect(second).toContain('-- down_revision: bill0001\n');
    expect(second).toContain('-- depends_on: core0001\n');

    const heads = await runCli(['heads', '--migrations', dir]);
    expect(heads.stdout.trim().split('\n')).toEqual([
      'bill0002 (billing) (head)',
      'core0001 (effective head) (base)',
    ]);
    const resolved = await runCli(['heads', '--resolve-dependencies', '--migrations', dir]);
    expect(resolved.stdout.trim()).toBe('bill0002 (billing) (head)');
    const history = await runCli(['history', '--migrations', dir]);
    expect(history.stdout).toContain('bill0001 (core0001) -> bill0002 (billing) (head), bill0002');
    const shown = await runCli(['show', 'billing@head', '--migrations', dir]);
    expect(shown.stdout).toContain('Rev: bill0002 (billing) (head)');
  });

  it('shows a revision with its SQL and checksum', async () => {
    const dir = await writeChain({
      'a.sql': sqlMigration(
        'abc123',
        null,
        'CREATE TABLE w (id int);\nINSERT INTO w VALUES (1);',
        'DROP TABLE w;',
      ),
    });
    const shown = await runCli(['show', 'abc', '--migrations', dir]);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toContain('Rev: abc123 (head) (base)');
    expect(shown.stdout).toMatch(/Checksum: [0-9a-f]{64}/);
    expect(shown.stdout).toContain('-- upgrade\nCREATE TABLE w (id int);\nINSERT INTO w VALUES (1);');
    expect(shown.stdout).toContain('-- downgrade\nDROP TABLE w;');
  });

  it('applies the embedded chain on the embedded PostgreSQL when no database is configured', async () => {
    const parent = await writeChain({});
    await chmod(parent, 0o755);
    const dataDir = join(parent, 'pg');
    const env = { REVISOR_EMBEDDED_DIR: dataDir };
    const up = await runCli(['upgrade'], env);
    expect(up.code).toBe(0);
    expect(up.stdout).toContain('the database is now at c0b7d0e366e7');
    const current = await runCli(['current'], env);
    expect(current.stdout.trim()).toBe('c0b7d0e366e7 (head)');
    const { stopEmbedded, startEmbedded } = await import('../../src/cli/embedded-postgres.js');
    const server = await startEmbedded(dataDir);
    const db = await connect(server.url);
    expect(await versionRows(db)).toEqual(['c0b7d0e366e7']);
    expect(await tableNames(db)).toContain('session_templates');
    await db.end();
    await stopEmbedded(dataDir, { remove: true });
  });
});

describe('revision in a checkout of revisor itself', () => {
  it('reads the TypeScript sources of the embedded chain (their ../src/*.js imports resolve to .ts) and writes a revision on its head', async () => {
    const copy = await testDir('revisor-checkout-');
    await cp(join(repoRoot, 'migrations'), join(copy, 'migrations'), { recursive: true });
    await cp(join(repoRoot, 'src'), join(copy, 'src'), { recursive: true });
    const made = await runCli(['revision', '-m', 'add x', '--sql', '--rev-id', 'addx0001'], {
      REVISOR_MIGRATIONS: join(copy, 'migrations'),
    });
    expect(made.code, made.stderr).toBe(0);
    const written = (await readdir(join(copy, 'migrations'))).find((f) => f.includes('addx0001'))!;
    expect(await readFile(join(copy, 'migrations', written), 'utf8')).toContain(
      '-- down_revision: c0b7d0e366e7',
    );
  });
});
