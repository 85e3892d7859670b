import type { Step } from '../plan/planner.js';
import { committingStepByStep, type Executor, type ExecutorEvents, StepFailure } from './executor.js';
import { stepFailure } from './failure.js';
import type { Session } from './session.js';
import { runBlockStep, runNonTransactionalStep } from './step-runner.js';
import type { StepSettings } from './step-settings.js';

/** Runs one step and returns its duration; a failure becomes the step's StepFailure. */
async function timed(index: number, step: Step, run: () => Promise<void>): Promise<number> {
  const started = performance.now();
  try {
    await run();
  } catch (err) {
    throw new StepFailure(index, stepFailure(step, null, err), performance.now() - started);
  }
  return performance.now() - started;
}

/**
 * A transactional step in a block of its own: a transaction (per-migration), or a
 * savepoint of the run's transaction, whose bookkeeping `onApplied` hands to the
 * single-transaction executor.
 */
export function blockStepExecutor(
  db: Session,
  settings: StepSettings,
  block: 'transaction' | 'savepoint',
  onApplied?: (step: Step, startedAt: Date, finishedAt: Date) => void,
): Executor {
  return {
    ...committingStepByStep,
    async runFrom(steps, index, events: ExecutorEvents) {
      const step = steps[index]!;
      const startedAt = new Date();
      const durationMs = await timed(index, step, () => runBlockStep(db, step, settings, block));
      onApplied?.(step, startedAt, new Date());
      events.applied({ step, durationMs });
      return 1;
    },
  };
}

/**
 * A step that runs outside any transaction (CREATE INDEX CONCURRENTLY): a 'running'
 * history row first, the statements one by one, then its version rows; see step-runner.
 */
export function nonTransactionalExecutor(db: Session, settings: StepSettings): Executor {
  return {
    ...committingStepByStep,
    async runFrom(steps, index, events) {
      const step = steps[index]!;
      const durationMs = await timed(index, step, () => runNonTransactionalStep(db, step, settings));
      events.applied({ step, durationMs });
      return 1;
    },
  };
}

/** A transaction per migration, and non-transactional steps on their own. */
export function perMigrationExecutor(db: Session, settings: StepSettings): Executor {
  const inTransaction = blockStepExecutor(db, settings, 'transaction');
  const outside = nonTransactionalExecutor(db, settings);
  return {
    ...committingStepByStep,
    runFrom: (steps, index, events) =>
      (steps[index]!.migration.transactional ? inTransaction : outside).runFrom(steps, index, events),
  };
}
