import { writeFile } from 'node:fs/promises';
import type pg from 'pg';
import { describe, expect, it } from 'vitest';
import type { MigratorConfig } from '../../src/migrator/run/migrator.js';
import { runCli, sqlMigration, startCli, writeChain } from '../support/cli.js';
import { connect, createTestDatabase, untilSleeping, versionRows } from '../support/db.js';
import { migratorFor } from '../support/migrator.js';

/**
 * One contract, every executor: the same scenarios run against each strategy, and each
 * ends with the version rows, history rows and error class the strategy promises. The
 * strategies differ in one documented way only: a single transaction undoes the steps
 * before a failure, the others keep them.
 */
interface Strategy {
  readonly name: string;
  readonly config: Partial<MigratorConfig>;
  readonly cli: readonly string[];
  /** Migrations run outside a transaction (the non-transactional executor). */
  readonly nonTransactional: boolean;
  /** A failure undoes the run's earlier steps. */
  readonly allOrNothing: boolean;
}

const strategies: Strategy[] = [
  {
    name: 'transaction per migration',
    config: { transactionMode: 'per-migration', batching: 'off' },
    cli: ['--batch', 'off'],
    nonTransactional: false,
    allOrNothing: false,
  },
  {
    name: 'scripts',
    config: { transactionMode: 'per-migration', batching: 'adaptive' },
    cli: ['--batch', 'adaptive'],
    nonTransactional: false,
    allOrNothing: false,
  },
  {
    name: 'single transaction',
    config: { transactionMode: 'all', batching: 'off' },
    cli: ['--transaction-mode', 'all', '--batch', 'off'],
    nonTransactional: false,
    allOrNothing: true,
  },
  {
    name: 'single transaction with scripts',
    config: { transactionMode: 'all', batching: 'adaptive' },
    cli: ['--transaction-mode', 'all'],
    nonTransactional: false,
    allOrNothing: true,
  },
  {
    name: 'non-transactional',
    config: { transactionMode: 'per-migration' },
    cli: [],
    nonTransactional: true,
    allOrNothing: false,
  },
];

type Entry = [id: string, down: string[], upgrade?: string, downgrade?: string];

async function chain(strategy: Strategy, entries: Entry[]): Promise<string> {
  const files: Record<string, string> = {};
  for (const [i, [id, down, up, downSql]] of entries.entries()) {
    files[`${String(i).padStart(3, '0')}_${id}.sql`] = sqlMigration(
      id,
      down.length ? down.join(', ') : null,
      up ?? `CREATE TABLE t_${id} (id int);`,
      downSql ?? `DROP TABLE t_${id};`,
      { transactional: !strategy.nonTransactional },
    );
  }
  return writeChain(files);
}

async function history(db: pg.Client): Promise<string[]> {
  const { rows } = await db.query<{ revision: string; direction: string; outcome: string }>(
    'SELECT revision, direction, outcome FROM revisor_history ORDER BY id',
  );
  return rows.map((r) => `${r.direction} ${r.revision} ${r.outcome}`);
}

const linear: Entry[] = [
  ['a1', []],
  ['a2', ['a1']],
  ['a3', ['a2']],
];
const diamond: Entry[] = [
  ['a', []],
  ['b1', ['a']],
  ['b2', ['a']],
  ['m', ['b1', 'b2']],
];

describe.each(strategies)('executor contract: $name', (strategy) => {
  const migrator = async (url: string, dir: string, overrides: Partial<MigratorConfig> = {}) =>
    migratorFor(url, dir, { ...strategy.config, ...overrides });

  it('linear: every step applied in order, one history row each', async () => {
    const url = await createTestDatabase();
    const m = await migrator(url, await chain(strategy, linear));
    const result = await m.upgrade('head');
    await m.close();
    expect(result.error).toBeUndefined();
    expect(result.results.map((r) => `${r.revision} ${r.status}`)).toEqual([
      'a1 applied',
      'a2 applied',
      'a3 applied',
    ]);
    const db = await connect(url);
    expect(await versionRows(db)).toEqual(['a3']);
    expect(await history(db)).toEqual(['upgrade a1 applied', 'upgrade a2 applied', 'upgrade a3 applied']);
  });

  it('branch, merge and unmerge keep Alembic’s rows', async () => {
    const url = await createTestDatabase();
    const dir = await chain(strategy, diamond);
    const db = await connect(url);
    const m = await migrator(url, dir);
    expect((await m.upgrade('heads')).error).toBeUndefined();
    expect(await versionRows(db)).toEqual(['m']);
    expect((await m.downgrade('b1')).error).toBeUndefined();
    expect(await versionRows(db)).toEqual(['b1', 'b2']);
    expect((await m.downgrade('a')).error).toBeUndefined();
    expect(await versionRows(db)).toEqual(['a']);
    await m.close();
    // Alembic's order: the branch loaded last goes up first; down, in load order.
    expect(await history(db)).toEqual([
      'upgrade a applied',
      'upgrade b2 applied',
      'upgrade b1 applied',
      'upgrade m applied',
      'downgrade m applied',
      'downgrade b1 applied',
      'downgrade b2 applied',
    ]);
  });

  it('a failing step: MigrationFailed, nothing of it applied, a failed history row', async () => {
    const url = await createTestDatabase();
    const m = await migrator(
      url,
      await chain(strategy, [...linear.slice(0, 2), ['a3', ['a2'], 'SELECT 1/0;']]),
    );
    const result = await m.upgrade('head');
    await m.close();
    expect(result.error?.code).toBe('MigrationFailed');
    expect(result.error?.message).toContain('division by zero');
    const db = await connect(url);
    const kept = strategy.allOrNothing ? [] : ['a2'];
    expect(await versionRows(db)).toEqual(kept);
    expect(result.results.map((r) => r.status)).toEqual(
      strategy.allOrNothing ? ['rolled-back', 'rolled-back', 'failed'] : ['applied', 'applied', 'failed'],
    );
    expect(await history(db)).toEqual(
      strategy.allOrNothing
        ? ['upgrade a3 failed']
        : ['upgrade a1 applied', 'upgrade a2 applied', 'upgrade a3 failed'],
    );
  });

  it('a table lock held past lock_timeout is retried with a longer timeout and succeeds', async () => {
    const url = await createTestDatabase();
    const db = await connect(url);
    await db.query('CREATE TABLE busy (id int)');
    const dir = await chain(strategy, [
      ...linear.slice(0, 1),
      ['a2', ['a1'], 'ALTER TABLE busy ADD COLUMN x int;'],
    ]);
    const blocker = await connect(url);
    await blocker.query('BEGIN');
    await blocker.query('LOCK TABLE busy IN ACCESS SHARE MODE');
    setTimeout(() => void blocker.query('COMMIT'), 400);
    const retries: number[] = [];
    const m = await migrator(url, dir, {
      lockTimeoutMs: 100,
      lockRetries: 5,
      events: { stepRetry: (_, attempt) => retries.push(attempt) },
    });
    const result = await m.upgrade('head');
    await m.close();
    expect(result.error).toBeUndefined();
    expect(retries.length).toBeGreaterThan(0);
    expect(await versionRows(db)).toEqual(['a2']);
  });

  it('a version table edited by a step is caught: MigrationFailed, the bookkeeping not written over it', async () => {
    const url = await createTestDatabase();
    const dir = await chain(strategy, [
      ...linear.slice(0, 1),
      ['a2', ['a1'], 'DELETE FROM alembic_version;'],
    ]);
    const m = await migrator(url, dir);
    expect((await m.upgrade('a1')).error).toBeUndefined();
    const result = await m.upgrade('head');
    await m.close();
    expect(result.error?.code).toBe('MigrationFailed');
    expect(result.error?.message).toMatch(/version table changed/);
    const db = await connect(url);
    // A transactional step's DELETE is rolled back with it; a non-transactional one's stays.
    expect(await versionRows(db)).toEqual(strategy.nonTransactional ? [] : ['a1']);
    const { rows } = await db.query(
      "SELECT count(*)::int AS n FROM revisor_history WHERE revision = 'a2' AND outcome = 'applied'",
    );
    expect(rows[0].n).toBe(0);
  });

  it('cancel between steps: Cancelled, the steps before it as the strategy keeps them', async () => {
    const url = await createTestDatabase();
    const controller = new AbortController();
    const m = await migrator(url, await chain(strategy, linear), {
      signal: controller.signal,
      events: { stepFinished: (step) => step.revision === 'a1' && controller.abort('SIGTERM') },
    });
    const result = await m.upgrade('head');
    await m.close();
    expect(result.error?.code).toBe('Cancelled');
    const db = await connect(url);
    expect(await versionRows(db)).toEqual(strategy.allOrNothing ? [] : ['a1']);
    expect(result.results.map((r) => r.status)).toEqual([
      strategy.allOrNothing ? 'rolled-back' : 'applied',
      'not-run',
      'not-run',
    ]);
  });

  it('SIGKILL mid-step: the step is not recorded, and the next run finishes the chain', async () => {
    const url = await createTestDatabase();
    const dir = await chain(strategy, [
      ...linear.slice(0, 1),
      ['a2', ['a1'], 'CREATE TABLE IF NOT EXISTS t_a2 (id int);\nSELECT pg_sleep(30);'],
      ['a3', ['a2']],
    ]);
    const env = { DATABASE_URL: url, REVISOR_MIGRATIONS: dir };
    const db = await connect(url);
    const run = startCli(['upgrade', ...strategy.cli], env);
    await untilSleeping(db, 1);
    run.child.kill('SIGKILL');
    await run.done;
    await untilSleeping(db, 0);
    expect(await versionRows(db)).toEqual(strategy.allOrNothing ? [] : ['a1']);
    await writeFile(
      `${dir}/001_a2.sql`,
      sqlMigration('a2', 'a1', 'CREATE TABLE IF NOT EXISTS t_a2 (id int);', 'DROP TABLE t_a2;', {
        transactional: !strategy.nonTransactional,
      }),
    );
    const rerun = await runCli(['upgrade', ...strategy.cli], env);
    expect(rerun.code).toBe(0);
    expect(await versionRows(db)).toEqual(['a3']);
    const applied = (await history(db)).filter((h) => h.endsWith('applied'));
    expect(applied).toEqual(['upgrade a1 applied', 'upgrade a2 applied', 'upgrade a3 applied']);
  });
});
