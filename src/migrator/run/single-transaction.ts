import { RevisorError } from '../errors/errors.js';
import { recordRun } from '../pg/history.js';
import type { Plan, Step } from '../plan/planner.js';
import { type AppliedStep, appliedStep } from '../sql/bookkeeping.js';
import { stepPrelude } from '../sql/step-sql.js';
import type { Executor } from './executor.js';
import type { Session } from './session.js';
import type { StepSettings } from './step-settings.js';

/**
 * The whole run in one transaction: a savepoint per step, the net version-table change
 * and every step's history row written once before COMMIT. A failure rolls everything
 * back. Non-transactional steps cannot take part and are refused before BEGIN.
 */
export function singleTransactionExecutor(
  db: Session,
  settings: StepSettings,
  inner: (onApplied: (step: Step, startedAt: Date, finishedAt: Date) => void) => Executor,
): Executor {
  const applied: AppliedStep[] = [];
  const steps = inner((step, startedAt, finishedAt) =>
    applied.push(appliedStep(step, startedAt, finishedAt)),
  );
  let open = false;
  return {
    async open(plan: Plan) {
      const nonTx = plan.steps.filter((s) => !s.migration.transactional).map((s) => s.revision);
      if (nonTx.length > 0) {
        throw new RevisorError(
          'InvalidPlan',
          `--transaction-mode all cannot include non-transactional revision(s) ${nonTx.join(', ')}; use per-migration`,
          { revisions: nonTx },
        );
      }
      await db.query(
        stepPrelude('transaction', settings.lockTimeoutMs, settings.statementTimeoutMs, settings.fence),
      );
      open = true;
    },
    runFrom: (all, index, events) => steps.runFrom(all, index, events),
    async close(plan: Plan) {
      await recordRun(db, settings.tables, plan, applied, settings.executedBy);
      await db.query('COMMIT');
      open = false;
    },
    async abort() {
      if (open) await db.query('ROLLBACK').catch(() => undefined);
      open = false;
      return { rolledBack: true };
    },
  };
}
