import type { Step } from '../plan/planner.js';
import type { BatchSettings } from '../sql/batch-sql.js';
import { batchFrom, nextBatchSize, runBatch } from './batch-runner.js';
import type { Executor } from './executor.js';
import { StepFailure } from './executor.js';
import { stepFailure } from './failure.js';
import type { Session } from './session.js';

/**
 * Consecutive transactional steps without bind parameters as one simple-protocol script,
 * the batch doubling while scripts are quick (batch-runner.ts). Each step keeps its own
 * transaction or savepoint, version rows and history row. What cannot go in a script,
 * and the step a script failed on, runs through `single`, which retries lock timeouts and
 * names the failing statement.
 */
export function scriptExecutor(
  db: Session,
  mode: 'transaction' | 'savepoint',
  settings: BatchSettings & { readonly executedBy: string },
  single: Executor,
  onApplied?: (step: Step, startedAt: Date, finishedAt: Date) => void,
): Executor {
  let size = 1;
  return {
    open: (plan) => single.open(plan),
    close: (plan) => single.close(plan),
    abort: () => single.abort(),
    async runFrom(steps, index, events) {
      const began = performance.now();
      const group = batchFrom(steps, index, size);
      if (group.length <= 1) {
        const done = await single.runFrom(steps, index, events);
        size = nextBatchSize(size, performance.now() - began);
        return done;
      }
      const outcome = await runBatch(db, mode, group, index + 1, settings, (done) => {
        onApplied?.(done.step, done.startedAt, done.finishedAt);
        events.applied({ step: done.step, durationMs: done.finishedAt.getTime() - done.startedAt.getTime() });
        const next = group[group.indexOf(done.step) + 1];
        if (next) events.started(next);
      });
      size = nextBatchSize(size, performance.now() - began);
      if (!outcome.failure) return outcome.done.length;
      const failing = index + outcome.done.length;
      // The session did not survive the failure: report it as this step's, unretried.
      if (!outcome.failure.recovered)
        throw new StepFailure(failing, stepFailure(steps[failing]!, null, outcome.failure.error), 0);
      size = 1;
      return outcome.done.length + (await single.runFrom(steps, failing, events));
    },
  };
}
