import { classify } from '../errors/classify.js';
import { RevisorError } from '../errors/errors.js';
import { recordFailure } from '../pg/history.js';
import { lockLostError } from '../pg/lock.js';
import type { Plan, Step } from '../plan/planner.js';
import type { Tables } from '../sql/bookkeeping.js';
import { assertBackfillsOutsideTransactions } from './backfill.js';
import { type Executor, StepFailure } from './executor.js';
import type { Session } from './session.js';

export interface StepResult {
  readonly revision: string;
  readonly direction: Step['direction'] | 'stamp';
  readonly status: 'applied' | 'failed' | 'rolled-back' | 'not-run';
  readonly durationMs: number;
}

export interface ExecutionHooks {
  readonly tables: Tables;
  readonly executedBy: string;
  readonly signal?: AbortSignal;
  /** Whether the migration lock is still this run's; a step stopped by the fence is reported as a lost lock. */
  readonly lockHeld: () => Promise<boolean>;
  readonly stepStarted?: (step: Step) => void;
  readonly stepFinished?: (step: Step, result: StepResult) => void;
}

/**
 * The run loop every executor shares (Kysely-style: every step's result is there from the
 * start, 'not-run', and is filled in as steps take effect): cancellation between calls,
 * one report per step, the failed step's history row, and rollback bookkeeping.
 */
export async function execute(
  db: Session,
  plan: Plan,
  executor: Executor,
  hooks: ExecutionHooks,
): Promise<{ results: StepResult[]; error?: RevisorError }> {
  const { steps } = plan;
  const results: StepResult[] = steps.map((s) => ({
    revision: s.revision,
    direction: s.direction,
    status: 'not-run',
    durationMs: 0,
  }));
  const indexOf = new Map(steps.map((step, i) => [step, i]));
  const events = {
    started: (step: Step) => hooks.stepStarted?.(step),
    applied: ({ step, durationMs }: { step: Step; durationMs: number }) => {
      const i = indexOf.get(step)!;
      const result: StepResult = { ...results[i]!, status: 'applied', durationMs };
      results[i] = result;
      hooks.stepFinished?.(step, result);
    },
  };
  let index = 0;
  try {
    assertBackfillsOutsideTransactions(plan);
    await executor.open(plan);
    while (index < steps.length) {
      const step = steps[index]!;
      if (hooks.signal?.aborted) {
        throw new RevisorError(
          'Cancelled',
          `stopped before ${step.revision}: ${String(hooks.signal.reason)}`,
        );
      }
      events.started(step);
      index += await executor.runFrom(steps, index, events);
    }
    await executor.close(plan);
    return { results };
  } catch (err) {
    const failure = err instanceof StepFailure ? err : null;
    let error = classify(failure?.error ?? err);
    if (failure && !(await hooks.lockHeld())) error = lockLostError(failure.error);
    const { rolledBack } = await executor.abort();
    if (rolledBack) {
      for (const [i, r] of results.entries())
        if (r.status === 'applied') results[i] = { ...r, status: 'rolled-back' };
    }
    if (failure) {
      const step = steps[failure.index]!;
      const failed: StepResult = {
        ...results[failure.index]!,
        status: 'failed',
        durationMs: failure.durationMs,
      };
      results[failure.index] = failed;
      hooks.stepFinished?.(step, failed);
      if (step.migration.transactional) await recordFailure(db, hooks.tables, step, error, hooks.executedBy);
    }
    return { results, error };
  }
}
