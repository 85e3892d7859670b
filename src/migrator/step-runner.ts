import { checksum } from './checksum.js';
import { pgCode, type Queryable, sleep, sqlState } from './db.js';
import { RevisorError } from './errors.js';
import { stepFailure } from './failure.js';
import { finishHistory, insertHistory } from './history.js';
import type { Statement } from './ops/statement.js';
import type { Step } from './planner.js';
import { rowChangeStatement, type Tables } from './version-sql.js';

export interface StepSettings {
  readonly tables: Tables;
  readonly executedBy: string;
  /** lock_timeout for the first try; each retry doubles it. 0 disables. */
  readonly lockTimeoutMs: number;
  /** Tries after the first when a statement times out waiting for a table lock. */
  readonly lockRetries: number;
  readonly lockRetryPauseMs: number;
  /** statement_timeout for the step's statements; 0 disables. */
  readonly statementTimeoutMs: number;
  readonly signal?: AbortSignal;
  readonly onRetry?: (step: Step, attempt: number, nextLockTimeoutMs: number) => void;
}

export const statementsOf = (step: Step): readonly Statement[] =>
  step.direction === 'upgrade' ? step.migration.upgrade() : step.migration.downgrade();

const timeouts = (lockTimeoutMs: number, statementTimeoutMs: number, local: boolean): Statement => ({
  sql: "SELECT set_config('lock_timeout', $1, $3), set_config('statement_timeout', $2, $3)",
  params: [`${lockTimeoutMs}ms`, `${statementTimeoutMs}ms`, local],
});

/** The step's DDL, its version-row changes and its history row, in the current transaction. */
async function runInTransaction(db: Queryable, step: Step, settings: StepSettings, lockTimeoutMs: number, startedAt: Date) {
  const t = timeouts(lockTimeoutMs, settings.statementTimeoutMs, true);
  await db.query(t.sql, t.params);
  await runStatements(db, step, statementsOf(step));
  await writeVersionRows(db, step, settings.tables);
  await insertHistory(db, settings.tables, {
    revision: step.revision,
    direction: step.direction,
    checksum: checksum(statementsOf(step)),
    startedAt,
    executedBy: settings.executedBy,
    outcome: 'applied',
    headsAfter: step.headsAfter,
  });
}

async function runStatements(db: Queryable, step: Step, statements: readonly Statement[]) {
  for (const statement of statements) {
    try {
      await db.query(statement.sql, statement.params);
    } catch (err) {
      throw Object.assign(stepFailure(step, statement, err), { [rawError]: err });
    }
  }
}

const rawError = Symbol('pg error');
const isLockTimeout = (err: unknown) =>
  pgCode((err as Record<symbol, unknown>)[rawError] ?? err) === sqlState.lockNotAvailable;

export async function writeVersionRows(db: Queryable, step: Step, tables: Tables): Promise<void> {
  for (const change of step.changes) {
    const statement = rowChangeStatement(tables, change);
    const { rowCount } = await db.query(statement.sql, statement.params);
    if (change.kind !== 'insert' && rowCount !== 1) {
      throw new RevisorError(
        'MigrationFailed',
        `the version table changed under the ${step.direction} of ${step.revision}: expected one row for ` +
          `${change.kind === 'update' ? change.from : change.revision}, found ${rowCount}; was it edited by hand?`,
        { revision: step.revision },
      );
    }
  }
}

/** Retries `attempt` with a doubled lock_timeout after a pause, while it fails on a table lock. */
async function withLockRetries(step: Step, settings: StepSettings, attempt: (lockTimeoutMs: number) => Promise<void>) {
  let lockTimeout = settings.lockTimeoutMs;
  for (let tryNo = 0; ; tryNo++) {
    try {
      return await attempt(lockTimeout);
    } catch (err) {
      if (!isLockTimeout(err) || tryNo >= settings.lockRetries || lockTimeout === 0) throw err;
      lockTimeout *= 2;
      settings.onRetry?.(step, tryNo + 1, lockTimeout);
      await sleep(settings.lockRetryPauseMs * (tryNo + 1), settings.signal);
    }
  }
}

/** A transactional step in a transaction of its own. */
export async function runTransactionalStep(db: Queryable, step: Step, settings: StepSettings): Promise<void> {
  const startedAt = new Date();
  await withLockRetries(step, settings, async (lockTimeoutMs) => {
    await db.query('BEGIN');
    try {
      await runInTransaction(db, step, settings, lockTimeoutMs, startedAt);
      await db.query('COMMIT');
    } catch (err) {
      await db.query('ROLLBACK').catch(() => undefined);
      throw err;
    }
  });
}

/** A step inside the run's single transaction, isolated by a savepoint so it can be retried. */
export async function runStepInOpenTransaction(db: Queryable, step: Step, settings: StepSettings): Promise<void> {
  const startedAt = new Date();
  await withLockRetries(step, settings, async (lockTimeoutMs) => {
    await db.query('SAVEPOINT revisor_step');
    try {
      await runInTransaction(db, step, settings, lockTimeoutMs, startedAt);
      await db.query('RELEASE SAVEPOINT revisor_step');
    } catch (err) {
      await db.query('ROLLBACK TO SAVEPOINT revisor_step').catch(() => undefined);
      throw err;
    }
  });
}

/**
 * A non-transactional step: a 'running' history row first, each statement on its own
 * (a lock timeout retries only that statement), then the version rows and the history
 * row's outcome together. A crash leaves the 'running' row as the visible trace.
 */
export async function runNonTransactionalStep(db: Queryable, step: Step, settings: StepSettings): Promise<void> {
  const statements = statementsOf(step);
  const id = await insertHistory(db, settings.tables, {
    revision: step.revision,
    direction: step.direction,
    checksum: checksum(statements),
    startedAt: new Date(),
    executedBy: settings.executedBy,
    outcome: 'running',
    headsAfter: null,
  });
  try {
    for (const statement of statements) {
      await withLockRetries(step, settings, async (lockTimeoutMs) => {
        const t = timeouts(lockTimeoutMs, settings.statementTimeoutMs, false);
        await db.query(t.sql, t.params);
        await runStatements(db, step, [statement]);
      });
    }
    await db.query('BEGIN');
    await writeVersionRows(db, step, settings.tables);
    await finishHistory(db, settings.tables, id, 'applied', step.headsAfter);
    await db.query('COMMIT');
  } catch (err) {
    await db.query('ROLLBACK').catch(() => undefined);
    await finishHistory(db, settings.tables, id, 'failed', null, (err as Error).message).catch(() => undefined);
    throw err;
  } finally {
    await db
      .query("SELECT set_config('lock_timeout', '0', false), set_config('statement_timeout', '0', false)")
      .catch(() => undefined);
  }
}
