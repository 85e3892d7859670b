import { describe, expect, it } from 'vitest';
import { linearChain, runCli, writeChain } from '../support/cli.js';
import { connect, createTestDatabase, tableNames, versionRows } from '../support/db.js';

describe('revisor upgrade/downgrade/stamp on a real database', () => {
  it('walks a chain with absolute and relative targets', async () => {
    const url = await createTestDatabase();
    const dir = await writeChain(linearChain(4));
    const env = { DATABASE_URL: url, REVISOR_MIGRATIONS: dir };
    const db = await connect(url);

    expect((await runCli(['upgrade', '+2'], env)).code).toBe(0);
    expect(await versionRows(db)).toEqual(['rev2']);
    expect((await runCli(['upgrade', 'rev3'], env)).code).toBe(0);
    expect(await versionRows(db)).toEqual(['rev3']);
    expect((await runCli(['upgrade'], env)).code).toBe(0);
    expect(await versionRows(db)).toEqual(['rev4']);
    expect(await tableNames(db)).toEqual(['alembic_version', 'revisor_history', 't1', 't2', 't3', 't4']);

    const noop = await runCli(['upgrade', 'head'], env);
    expect(noop.code).toBe(0);
    expect(noop.stdout).toContain('nothing to do');

    expect((await runCli(['downgrade', '-1'], env)).code).toBe(0);
    expect(await versionRows(db)).toEqual(['rev3']);
    expect((await runCli(['downgrade', 'rev1'], env)).code).toBe(0);
    expect(await versionRows(db)).toEqual(['rev1']);
    expect(await tableNames(db)).toEqual(['alembic_version', 'revisor_history', 't1']);
    expect((await runCli(['downgrade', 'base'], env)).code).toBe(0);
    expect(await versionRows(db)).toEqual([]);
    expect(await tableNames(db)).toEqual(['alembic_version', 'revisor_history']);

    const { rows } = await db.query(
      `SELECT revision, direction, outcome, executed_by, checksum IS NOT NULL AS has_checksum, duration_ms >= 0 AS timed
         FROM revisor_history ORDER BY id`,
    );
    expect(rows.map((r) => `${r.direction}:${r.revision}:${r.outcome}`)).toEqual([
      'upgrade:rev1:applied',
      'upgrade:rev2:applied',
      'upgrade:rev3:applied',
      'upgrade:rev4:applied',
      'downgrade:rev4:applied',
      'downgrade:rev3:applied',
      'downgrade:rev2:applied',
      'downgrade:rev1:applied',
    ]);
    expect(rows.every((r) => r.has_checksum && r.timed && r.executed_by)).toBe(true);
  });

  it('applies a run in one transaction in all-in-one mode, with a history row per step', async () => {
    const url = await createTestDatabase();
    const dir = await writeChain(linearChain(4));
    const env = { DATABASE_URL: url, REVISOR_MIGRATIONS: dir };
    const db = await connect(url);
    expect((await runCli(['upgrade', 'rev1'], env)).code).toBe(0);
    expect((await runCli(['upgrade', '--transaction-mode', 'all'], env)).code).toBe(0);
    expect(await versionRows(db)).toEqual(['rev4']);
    const { rows } = await db.query(
      `SELECT revision, heads_after, duration_ms >= 0 AS timed, checksum IS NOT NULL AS summed
         FROM revisor_history WHERE direction = 'upgrade' ORDER BY id`,
    );
    expect(rows.map((r) => `${r.revision}:${r.heads_after}`)).toEqual([
      'rev1:rev1',
      'rev2:rev2',
      'rev3:rev3',
      'rev4:rev4',
    ]);
    expect(rows.every((r) => r.timed && r.summed)).toBe(true);
    expect((await runCli(['downgrade', 'base', '--transaction-mode', 'all'], env)).code).toBe(0);
    expect(await versionRows(db)).toEqual([]);
    expect(await tableNames(db)).toEqual(['alembic_version', 'revisor_history']);
  });

  it('stamps without running migrations, and reports JSON', async () => {
    const url = await createTestDatabase();
    const dir = await writeChain(linearChain(3));
    const env = { DATABASE_URL: url, REVISOR_MIGRATIONS: dir };
    const db = await connect(url);

    const stamped = await runCli(['stamp', 'rev2', '--json'], env);
    expect(stamped.code).toBe(0);
    expect(JSON.parse(stamped.stdout)).toMatchObject({ command: 'stamp', to: ['rev2'] });
    expect(await versionRows(db)).toEqual(['rev2']);
    expect(await tableNames(db)).toEqual(['alembic_version', 'revisor_history']);

    const up = await runCli(['upgrade', '--json'], env);
    expect(up.code).toBe(0);
    expect(JSON.parse(up.stdout).steps.map((s: { revision: string }) => s.revision)).toEqual(['rev3']);
    expect(await tableNames(db)).toContain('t3');

    expect((await runCli(['stamp', 'base'], env)).code).toBe(0);
    expect(await versionRows(db)).toEqual([]);

    const current = await runCli(['current', '--json'], env);
    expect(JSON.parse(current.stdout)).toEqual({ heads: [], atHead: false });
  });

  it('prints offline SQL that psql can apply, version table included, touching no database', async () => {
    const dir = await writeChain(linearChain(2));
    const offline = await runCli(['sql', 'upgrade', 'base:head', '--migrations', dir], {
      DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none',
    });
    expect(offline.code).toBe(0);
    expect(offline.stdout).toContain('CREATE TABLE IF NOT EXISTS public.alembic_version');
    expect(offline.stdout).toContain("INSERT INTO public.alembic_version (version_num) VALUES ('rev1');");
    expect(offline.stdout).toContain(
      "UPDATE public.alembic_version SET version_num = 'rev2' WHERE version_num = 'rev1';",
    );

    const url = await createTestDatabase();
    const db = await connect(url);
    await db.query(offline.stdout);
    expect(await versionRows(db)).toEqual(['rev2']);
    expect(await tableNames(db)).toEqual(['alembic_version', 't1', 't2']);

    const down = await runCli(['sql', 'downgrade', 'rev2:base', '--migrations', dir]);
    expect(down.stdout).toContain('DROP TABLE t2;');
    expect(down.stdout).toContain("DELETE FROM public.alembic_version WHERE version_num = 'rev1';");
  });

  it('answers usage errors with exit 2 and names bad targets', async () => {
    const dir = await writeChain(linearChain(2));
    const url = await createTestDatabase();
    const env = { DATABASE_URL: url, REVISOR_MIGRATIONS: dir };
    expect((await runCli(['downgrade'], env)).code).toBe(2);
    expect((await runCli(['upgrade', '--bogus'], env)).code).toBe(2);
    const missing = await runCli(['upgrade', 'nope'], env);
    expect(missing.code).toBe(11);
    expect(missing.stderr).toContain('[RevisionNotFound]');
    const ambiguous = await runCli(['upgrade', 'rev'], env);
    expect(ambiguous.code).toBe(12);
    expect(ambiguous.stderr).toContain('rev1, rev2');
  });

  it('fails clearly when the database is unreachable, without printing the password', async () => {
    const dir = await writeChain(linearChain(1));
    const result = await runCli(['upgrade', '--connect-timeout', '2s'], {
      DATABASE_URL: 'postgres://app:s3cret-pw@127.0.0.1:1/app',
      REVISOR_MIGRATIONS: dir,
    });
    expect(result.code).toBe(20);
    expect(result.stderr).toContain('[ConnectionFailed]');
    expect(result.stderr).toContain('127.0.0.1:1/app as app');
    expect(result.stderr + result.stdout).not.toContain('s3cret-pw');
  });
});
