import {
  type Finding,
  failsAt,
  isDestructive,
  type Plan,
  planHash,
  renderStep,
} from '../../migrator/index.js';
import { shownText } from '../shown-text.js';

export type ApprovalPolicy = 'Never' | 'Destructive' | 'Always';

/** The annotation whose value approves one plan, by its hash. */
export const approvedPlanAnnotation = 'revisor.dev/approved-plan';

export interface PendingApproval {
  readonly hash: string;
  readonly message: string;
  readonly plan: PlannedStep[];
}

/** A lint finding on a step, as status.plan shows it. */
export interface StepFinding {
  readonly rule: string;
  readonly severity: 'error' | 'warning';
  readonly message: string;
}

export interface PlannedStep {
  readonly revision: string;
  readonly direction: string;
  readonly sql: string;
  readonly destructive: boolean;
  readonly lint: StepFinding[];
}

/** The plan as status.plan shows it: each step's SQL and what lint, judged by the database, says of it. */
export function plannedSteps(plan: Plan, findings: readonly Finding[]): PlannedStep[] {
  return plan.steps.map((s) => ({
    revision: s.revision,
    direction: s.direction,
    sql: renderStep(s),
    destructive: isDestructive(s),
    lint: findings
      .filter((f) => f.revision === s.revision && s.direction === 'upgrade' && f.waived === null)
      .map((f) => ({
        rule: f.rule,
        severity: f.severity,
        message: shownText(f.there ? `${f.message}; ${f.there.text}` : f.message, []),
      })),
  }));
}

/**
 * spec.approval: whether this plan may run now. null when it may (no approval needed, or
 * the annotation names this plan's hash); otherwise the plan to show and its hash. A plan
 * that changes (a new revision, a database that moved) has another hash: an approval is of
 * one plan, never of "whatever comes next".
 */
export function pendingApproval(
  policy: ApprovalPolicy,
  plan: Plan,
  approved: string | undefined,
  findings: readonly Finding[] = [],
): PendingApproval | null {
  if (policy === 'Never' || plan.steps.length === 0) return null;
  const destructive = plan.steps.filter(isDestructive).map((s) => s.revision);
  const risky = findings
    .filter((f) => failsAt(f, 'error') && plan.steps.some((s) => s.revision === f.revision))
    .map((f) => `${f.revision} ${f.rule}`);
  if (policy === 'Destructive' && destructive.length === 0 && risky.length === 0) return null;
  const hash = planHash(plan);
  if (approved === hash) return null;
  const reasons = [
    ...(destructive.length ? [`it may destroy data (${destructive.join(', ')})`] : []),
    ...(risky.length
      ? [`lint finds what locks or breaks a table of this database (${[...new Set(risky)].join(', ')})`]
      : []),
  ];
  const why = reasons.length ? reasons.join(' and ') : 'spec.approval is Always';
  return {
    hash,
    message:
      `${plan.steps.length} step(s) wait for approval because ${why}: review status.plan, then annotate ` +
      `${approvedPlanAnnotation}=${hash}${approved ? ' (the approved hash is of another plan)' : ''}`,
    plan: plannedSteps(plan, findings),
  };
}
