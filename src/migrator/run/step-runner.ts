import { RevisorError } from '../errors/errors.js';
import { isBackfill } from '../ops/backfill.js';
import type { Statement } from '../ops/statement.js';
import { pgCode, type Queryable, sleep, sqlState } from '../pg/db.js';
import { finishHistory, insertHistory } from '../pg/history.js';
import { type Step, statementsOf } from '../plan/planner.js';
import { rowChangeStatement, stepFinish, type Tables } from '../sql/bookkeeping.js';
import { batch, stepEpilogue, stepPrelude } from '../sql/step-sql.js';
import { runBackfill } from './backfill.js';
import { stepFailure } from './failure.js';
import { dropInvalidIndex, indexesCreatedBy, invalidIndexError, invalidIndexes } from './invalid-indexes.js';
import type { StepSettings } from './step-settings.js';

type Block = 'transaction' | 'savepoint';
const rollbackOf = (block: Block) =>
  block === 'transaction' ? 'ROLLBACK' : 'ROLLBACK TO SAVEPOINT revisor_step';
// A step's savepoint is not released: RELEASE would cost a round trip per step and free
// nothing (a released subtransaction stays part of the transaction); the run's COMMIT ends them all.
const commitOf = (block: Block) => (block === 'transaction' ? 'COMMIT' : null);

const rawError = Symbol('pg error');
const withRaw = (error: RevisorError, raw: unknown) => Object.assign(error, { [rawError]: raw });
const isLockTimeout = (err: unknown) =>
  pgCode((err as Record<symbol, unknown>)[rawError] ?? err) === sqlState.lockNotAvailable;

/** A batched run failed; which statement it was is worked out after the rollback. */
class BatchFailure {
  constructor(
    readonly error: unknown,
    readonly offsets: readonly number[],
  ) {}
}

async function runStatements(db: Queryable, step: Step, statements: readonly Statement[]): Promise<void> {
  for (const statement of statements) {
    try {
      await db.query(statement.sql, statement.params);
    } catch (err) {
      throw withRaw(stepFailure(step, statement, err), err);
    }
  }
}

/**
 * The step inside an open block: statements without parameters go in one round trip
 * with the block's prelude. In a transaction of its own, the version rows and history
 * row follow in a second; in the run's single transaction they are left to its end.
 */
async function runInBlock(
  db: Queryable,
  step: Step,
  settings: StepSettings,
  block: Block,
  lockTimeoutMs: number,
  startedAt: Date,
): Promise<void> {
  const statements = statementsOf(step);
  const prelude = stepPrelude(
    block,
    lockTimeoutMs,
    settings.statementTimeoutMs,
    settings.fence,
    settings.lockTimeoutMs,
  );
  const epilogue = stepEpilogue(block, lockTimeoutMs, settings.lockTimeoutMs);
  if (statements.every((s) => !s.params?.length)) {
    const { sql, offsets } = batch(prelude, statements, epilogue);
    try {
      await db.query(sql);
    } catch (err) {
      throw new BatchFailure(err, offsets);
    }
  } else {
    await db.query(prelude);
    await runStatements(db, step, statements);
    if (epilogue) await db.query(epilogue);
  }
  if (block === 'savepoint') return;
  const finish = stepFinish(settings.tables, step.changes, {
    revision: step.revision,
    direction: step.direction,
    checksum: step.migration.checksum(step.direction),
    startedAt,
    executedBy: settings.executedBy,
    outcome: 'applied',
    headsAfter: step.headsAfter,
  });
  const { rows } = await db.query<Record<string, number>>(finish.sql, finish.params);
  step.changes.forEach((change, i) => {
    if (change.kind !== 'insert' && rows[0]?.[`c${i}`] !== 1)
      throw versionTableChanged(step, change, rows[0]?.[`c${i}`]);
  });
}

function versionTableChanged(step: Step, change: Step['changes'][number], found: unknown): RevisorError {
  const row = change.kind === 'update' ? change.from : change.kind === 'delete' ? change.revision : '';
  return new RevisorError(
    'MigrationFailed',
    `the version table changed under the ${step.direction} of ${step.revision}: expected one row ${row}, found ${found ?? 0}; ` +
      'was it edited by hand? Check it with "revisor current" and fix it with "revisor stamp"',
    { revision: step.revision },
  );
}

/**
 * Names the failing statement of a batch: from PostgreSQL's error position when it gives
 * one, else by running the statements one at a time in a block that is rolled back.
 */
async function attribute(
  db: Queryable,
  step: Step,
  settings: StepSettings,
  block: Block,
  failure: BatchFailure,
) {
  const statements = statementsOf(step);
  const err = failure.error;
  const position = Number((err as { position?: string }).position);
  if (Number.isInteger(position) && position > 0) {
    const index = failure.offsets.findLastIndex((offset) => offset < position);
    if (index !== -1)
      return withRaw(stepFailure(step, statements[index]!, err, position - failure.offsets[index]!), err);
    return withRaw(stepFailure(step, null, err), err);
  }
  if (statements.length === 1) return withRaw(stepFailure(step, statements[0]!, err), err);
  if (!pgCode(err) || pgCode(err) === sqlState.lockNotAvailable)
    return withRaw(stepFailure(step, null, err), err);
  try {
    await db.query(stepPrelude(block, settings.lockTimeoutMs, settings.statementTimeoutMs, settings.fence));
    for (const statement of statements) {
      try {
        await db.query(statement.sql);
      } catch (again) {
        return withRaw(stepFailure(step, statement, pgCode(again) === pgCode(err) ? again : err), err);
      }
    }
  } finally {
    await db.query(rollbackOf(block)).catch(() => undefined);
  }
  return withRaw(stepFailure(step, null, err), err);
}

/** Retries `attempt` with a doubled lock_timeout after a pause, while it fails on a table lock. */
async function withLockRetries<T>(
  step: Step,
  settings: StepSettings,
  attempt: (lockTimeoutMs: number) => Promise<T>,
): Promise<T> {
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

/**
 * A transactional step in a block of its own: a transaction, or a savepoint of the run's
 * transaction (whose executor records the step when the run commits).
 */
export async function runBlockStep(
  db: Queryable,
  step: Step,
  settings: StepSettings,
  block: Block,
): Promise<void> {
  const startedAt = new Date();
  await withLockRetries(step, settings, async (lockTimeoutMs) => {
    try {
      await runInBlock(db, step, settings, block, lockTimeoutMs, startedAt);
      const commit = commitOf(block);
      if (commit) await db.query(commit);
    } catch (err) {
      await db.query(rollbackOf(block)).catch(() => undefined);
      if (err instanceof BatchFailure) throw await attribute(db, step, settings, block, err);
      throw err;
    }
  });
}

export async function writeVersionRows(db: Queryable, step: Step, tables: Tables): Promise<void> {
  for (const change of step.changes) {
    const statement = rowChangeStatement(tables, change);
    const { rowCount } = await db.query(statement.sql, statement.params);
    if (change.kind !== 'insert' && rowCount !== 1) throw versionTableChanged(step, change, rowCount);
  }
}

/**
 * A non-transactional step: a 'running' history row first, each statement on its own
 * (a lock timeout retries only that statement), then the version rows and the history
 * row's outcome together. A crash leaves the 'running' row as the visible trace.
 */
export async function runNonTransactionalStep(
  db: Queryable,
  step: Step,
  settings: StepSettings,
): Promise<void> {
  const statements = statementsOf(step);
  const created = await indexesCreatedBy(statements);
  // A build cut off by a crash or a failure left its index INVALID, which IF NOT EXISTS
  // would accept and a plain CREATE INDEX would trip over: drop it, so the step builds it.
  for (const index of await invalidIndexes(db, created)) {
    await db.query(dropInvalidIndex(index).sql);
    settings.onInvalidIndexDropped?.(step, `${index.schema}.${index.name}`);
  }
  const id = await insertHistory(db, settings.tables, {
    revision: step.revision,
    direction: step.direction,
    checksum: step.migration.checksum(step.direction),
    startedAt: new Date(),
    executedBy: settings.executedBy,
    outcome: 'running',
    headsAfter: null,
  });
  try {
    for (const statement of statements) {
      if (isBackfill(statement)) {
        await runBackfill(db, step, statement, settings);
        continue;
      }
      await withLockRetries(step, settings, async (lockTimeoutMs) => {
        await db.query(settings.holderCheck);
        if (!settings.pooled) {
          await db.query(
            "SELECT set_config('lock_timeout', $1, false), set_config('statement_timeout', $2, false)",
            [`${lockTimeoutMs}ms`, `${settings.statementTimeoutMs}ms`],
          );
        }
        await runStatements(db, step, [statement]);
      });
    }
    const leftInvalid = await invalidIndexes(db, created);
    if (leftInvalid.length > 0) throw invalidIndexError(step, leftInvalid);
    await db.query('BEGIN');
    await writeVersionRows(db, step, settings.tables);
    await finishHistory(db, settings.tables, id, 'applied', step.headsAfter);
    await db.query('COMMIT');
  } catch (err) {
    await db.query('ROLLBACK').catch(() => undefined);
    await finishHistory(db, settings.tables, id, 'failed', null, (err as Error).message).catch(
      () => undefined,
    );
    throw err;
  } finally {
    if (!settings.pooled) {
      await db
        .query("SELECT set_config('lock_timeout', '0', false), set_config('statement_timeout', '0', false)")
        .catch(() => undefined);
    }
  }
}
