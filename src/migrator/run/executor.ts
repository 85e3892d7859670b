import type { RevisorError } from '../errors/errors.js';
import type { Plan, Step } from '../plan/planner.js';

/** A step that took effect, as the executor saw it. */
export interface StepReport {
  readonly step: Step;
  readonly durationMs: number;
}

/** What an executor tells the run while it works. */
export interface ExecutorEvents {
  /** A step after the first of a call has started (the run announces the first itself). */
  started(step: Step): void;
  /** A step took effect (committed, or done inside the run's transaction). */
  applied(report: StepReport): void;
}

/** The step at `index` failed; the steps before it are as the executor reported them. */
export class StepFailure extends Error {
  constructor(
    readonly index: number,
    readonly error: RevisorError,
    readonly durationMs: number,
  ) {
    super(error.message, { cause: error });
    this.name = 'StepFailure';
  }
}

/**
 * How a plan's steps reach the database. One implementation per strategy: a transaction
 * per migration, scripts of several steps, one transaction for the whole run, and
 * non-transactional steps; the run loop (execute.ts) is the same for all of them, and
 * one contract test suite runs every one.
 */
export interface Executor {
  /** Before the first step: the single transaction's BEGIN, a refusal of what cannot run. */
  open(plan: Plan): Promise<void>;
  /**
   * Runs the step at `index` and, when the strategy batches, some after it. Returns how
   * many took effect; throws a StepFailure for the step that did not.
   */
  runFrom(steps: readonly Step[], index: number, events: ExecutorEvents): Promise<number>;
  /** After the last step: the single transaction's bookkeeping and COMMIT. */
  close(plan: Plan): Promise<void>;
  /** After a failure or a cancellation: whether the steps reported applied were undone with it. */
  abort(): Promise<{ readonly rolledBack: boolean }>;
}

/** Open, close and abort of a strategy that commits step by step. */
export const committingStepByStep: Pick<Executor, 'open' | 'close' | 'abort'> = {
  open: async () => undefined,
  close: async () => undefined,
  abort: async () => ({ rolledBack: false }),
};
