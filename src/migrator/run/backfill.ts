import { RevisorError } from '../errors/errors.js';
import { type BackfillStatement, backfillBatch, isBackfill } from '../ops/backfill.js';
import { qualified } from '../ops/statement.js';
import { type Queryable, sleep } from '../pg/db.js';
import { type Plan, type Step, statementsOf } from '../plan/planner.js';
import {
  createBackfillTable,
  deleteBackfillCursor,
  estimateRows,
  saveBackfillCursor,
  selectBackfillCursor,
} from '../sql/backfill-sql.js';
import { stepFailure } from './failure.js';
import type { StepSettings } from './step-settings.js';

/**
 * Batches commit one by one: inside a step's transaction they would be one long one, so a
 * plan with a backfill in a transactional revision is refused before anything runs.
 */
export function assertBackfillsOutsideTransactions(plan: Plan): void {
  for (const step of plan.steps) {
    if (step.migration.transactional && statementsOf(step).some(isBackfill)) {
      throw new RevisorError(
        'InvalidPlan',
        `${step.migration.source}: op.backfill needs the migration to be transactional: false (its batches commit one by one); nothing was run`,
        { revision: step.revision },
      );
    }
  }
}

/**
 * Runs a backfill batch by batch, each in a transaction of its own that first checks the
 * migration lock is still this run's, holds row locks only for its batch (lock_timeout
 * bounds its wait), and saves the cursor with the rows it updated. Starts from the saved
 * cursor, so an interrupted backfill resumes where it stopped; stops between batches when
 * the run is cancelled.
 */
export async function runBackfill(
  db: Queryable,
  step: Step,
  statement: BackfillStatement,
  settings: StepSettings,
): Promise<void> {
  const b = statement.backfill;
  const target = qualified(b.table, b.schema);
  const { tables } = settings;
  await db.query(createBackfillTable(tables).sql);
  const select = selectBackfillCursor(tables, step.revision, target);
  const saved = await db.query<{ lastKey: string | null; rowsDone: number }>(select.sql, select.params);
  let cursor = saved.rows[0]?.lastKey ?? null;
  let rowsDone = saved.rows[0]?.rowsDone ?? 0;
  const estimating = estimateRows(target);
  const estimate = await db.query<{ estimate: number | null }>(estimating.sql, estimating.params);
  const estimatedRows = Math.max(rowsDone, estimate.rows[0]?.estimate ?? 0);
  const batchSql = backfillBatch(b);
  for (let batches = 1; ; batches++) {
    if (settings.signal?.aborted) {
      throw new RevisorError(
        'Cancelled',
        `stopped between batches of the backfill of ${target} in ${step.revision} (${rowsDone} rows done); the next run resumes it`,
      );
    }
    let rows: number;
    try {
      await db.query('BEGIN');
      await db.query(settings.holderCheck);
      if (settings.lockTimeoutMs > 0)
        await db.query(`SET LOCAL lock_timeout = ${Math.trunc(settings.lockTimeoutMs)}`);
      const result = await db.query<{ rows: number; last: string | null }>(batchSql, [
        cursor !== null,
        cursor,
        b.batchSize,
      ]);
      rows = result.rows[0]?.rows ?? 0;
      if (rows > 0) {
        cursor = result.rows[0]!.last;
        const save = saveBackfillCursor(tables, step.revision, target, cursor!, rows);
        await db.query(save.sql, save.params);
      } else {
        const done = deleteBackfillCursor(tables, step.revision, target);
        await db.query(done.sql, done.params);
      }
      await db.query('COMMIT');
    } catch (err) {
      await db.query('ROLLBACK').catch(() => undefined);
      throw stepFailure(step, statement, err);
    }
    if (rows === 0) return;
    rowsDone += rows;
    settings.onBackfillProgress?.(step, {
      table: target,
      rowsDone,
      estimatedRows: Math.max(estimatedRows, rowsDone),
      batches,
    });
    if (b.pauseMs > 0) await sleep(b.pauseMs, settings.signal).catch(() => undefined);
  }
}
