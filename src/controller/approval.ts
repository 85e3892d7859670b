import { isDestructive, type Plan, planHash, renderStep } from '../migrator/index.js';

export type ApprovalPolicy = 'Never' | 'Destructive' | 'Always';

/** The annotation whose value approves one plan, by its hash. */
export const approvedPlanAnnotation = 'revisor.dev/approved-plan';

export interface PendingApproval {
  readonly hash: string;
  readonly message: string;
  readonly plan: { revision: string; direction: string; sql: string; destructive: boolean }[];
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
): PendingApproval | null {
  if (policy === 'Never' || plan.steps.length === 0) return null;
  const destructive = plan.steps.filter(isDestructive).map((s) => s.revision);
  if (policy === 'Destructive' && destructive.length === 0) return null;
  const hash = planHash(plan);
  if (approved === hash) return null;
  const why = destructive.length
    ? `it may destroy data (${destructive.join(', ')})`
    : 'spec.approval is Always';
  return {
    hash,
    message:
      `${plan.steps.length} step(s) wait for approval because ${why}: review status.plan, then annotate ` +
      `${approvedPlanAnnotation}=${hash}${approved ? ' (the approved hash is of another plan)' : ''}`,
    plan: plan.steps.map((s) => ({
      revision: s.revision,
      direction: s.direction,
      sql: renderStep(s),
      destructive: isDestructive(s),
    })),
  };
}
