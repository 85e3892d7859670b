import { isBackfill } from '../ops/backfill.js';
import { pgCode, sqlState } from '../pg/db.js';
import { type Step, statementsOf } from '../plan/planner.js';
import { type BatchSettings, batchScript, type ProgressRow, stageSteps } from '../sql/batch-sql.js';
import { finishName } from '../sql/bookkeeping.js';
import type { Session } from './session.js';

export interface BatchedStep {
  readonly step: Step;
  /** Server clock: when the step's statements began, and when its last one ended. */
  readonly startedAt: Date;
  readonly finishedAt: Date;
}

export interface BatchOutcome {
  /** The steps that took effect (committed, or done inside the run's transaction), in order. */
  readonly done: readonly BatchedStep[];
  /**
   * Set when the script stopped early: the step after the done ones did not take effect.
   * `recovered` says the session is usable again, so that step can be run on its own.
   */
  readonly failure?: { readonly error: unknown; readonly recovered: boolean };
}

/** A transactional step without bind parameters can go in a script. */
export const batchable = (step: Step): boolean =>
  step.migration.transactional && statementsOf(step).every((s) => !s.params?.length && !isBackfill(s));

/**
 * Runs `steps` as one script; `onStep` hears of each step as its progress row arrives.
 * After a failure the session is back where the failing step began (its transaction
 * rolled back, or the run's transaction rolled back to the step's savepoint), and
 * `done` says which steps took effect before it.
 */
export async function runBatch(
  db: Session,
  mode: 'transaction' | 'savepoint',
  steps: readonly Step[],
  first: number,
  settings: BatchSettings & { readonly executedBy: string },
  onStep: (done: BatchedStep) => void,
): Promise<BatchOutcome> {
  if (mode === 'transaction') {
    const stage = stageSteps(settings.tables, settings.executedBy, steps, first);
    await db.query(stage.sql, stage.params);
  }
  const script = batchScript(
    mode,
    steps.map((step) => ({ statements: statementsOf(step) })),
    first,
    settings,
  );
  const done: BatchedStep[] = [];
  let previous: Date | null = null;
  try {
    await db.script(script, (row) => {
      // Migrations may SELECT too; only the script's own progress rows count.
      if (typeof row['revisor_step'] !== 'number') return;
      const { revisor_step: ordinal, revisor_at: at } = row as unknown as ProgressRow;
      const step = steps[ordinal - first];
      if (step && previous) {
        const entry = { step, startedAt: previous, finishedAt: at };
        done.push(entry);
        onStep(entry);
      }
      previous = at;
    });
    return { done };
  } catch (error) {
    const recovered = await (mode === 'savepoint'
      ? db.query('ROLLBACK TO SAVEPOINT revisor_step')
      : db.query('ROLLBACK').then(() => deallocateFinish(db))
    ).then(
      () => true,
      () => false,
    );
    return { done, failure: { error, recovered } };
  }
}

/** The script ended early, before its DEALLOCATE; unless it failed before its PREPARE. */
async function deallocateFinish(db: Session): Promise<void> {
  try {
    await db.query(`DEALLOCATE ${finishName}`);
  } catch (err) {
    if (pgCode(err) !== sqlState.undefinedPreparedStatement) throw err;
  }
}

/** The steps from `index` that can share a script: consecutive batchable ones, at most `size`. */
export function batchFrom(steps: readonly Step[], index: number, size: number): readonly Step[] {
  const group: Step[] = [];
  for (const step of steps.slice(index, index + size)) {
    if (!batchable(step)) break;
    group.push(step);
  }
  return group;
}

export const maxBatchSize = 64;

/**
 * Doubles the batch while scripts finish quickly; after a slow one, back to single
 * steps, so a long step does not keep the steps around it from being reported, and a
 * cancellation waits for at most one slow step.
 */
export function nextBatchSize(size: number, elapsedMs: number): number {
  if (elapsedMs > 1000) return 1;
  if (elapsedMs < 100) return Math.min(size * 2, maxBatchSize);
  return size;
}
