import type { Step } from '../plan/planner.js';
import type { Tables } from '../sql/bookkeeping.js';

/** What the step runner and the backfill runner share: their settings, and a backfill's progress. */

export interface BackfillProgress {
  readonly table: string;
  readonly rowsDone: number;
  /** The planner's estimate of the table's rows (reltuples). */
  readonly estimatedRows: number;
  readonly batches: number;
}

export interface StepSettings {
  readonly tables: Tables;
  /** The lock's fence as SQL text (lock.ts fenceSql), opening each step's transaction. */
  readonly fence: string;
  /** The holder check alone, run before each statement of a non-transactional step. */
  readonly holderCheck: string;
  /**
   * Behind a pooler a session's statements outside a transaction may reach any server
   * connection, so nothing is set at session level (the role's timeouts apply there).
   */
  readonly pooled: boolean;
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
  readonly onInvalidIndexDropped?: (step: Step, index: string) => void;
  readonly onBackfillProgress?: (step: Step, progress: BackfillProgress) => void;
}
