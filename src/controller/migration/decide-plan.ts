import type { ErrorCode, Finding, Plan } from '../../migrator/index.js';
import type { Drift } from '../conditions.js';
import { isTransient, Reason, type ReasonName, reasonFor } from '../reasons.js';
import type { Spec, Status } from '../resource.js';
import { type PendingApproval, type PlannedStep, pendingApproval, plannedSteps } from './approval.js';

/**
 * What the reconcile does once it knows where the database is and what the plan would be:
 * pure functions of the spec, the previous status and what was observed, so each branch is
 * a row of a unit-test table (test/unit/controller/decide-plan.test.ts) and the reconcile
 * only acts on the answer.
 */

/** A refusal: the reason, what to say, whether an Event says it too, and when to look again. */
export interface Refusal {
  readonly kind: 'refuse';
  readonly reason:
    | typeof Reason.ChecksumMismatch
    | typeof Reason.OutOfBandChange
    | typeof Reason.DriftBlocked
    | typeof Reason.DowngradeNotAllowed;
  readonly message: string;
  /** The Drifted condition it sets; null leaves it as it was observed. */
  readonly drift: Drift | null;
  readonly event: boolean;
  /** resync: the next periodic look; change: only a change to the resource brings it back. */
  readonly requeue: 'resync' | 'change';
}

/** Refusals that need no more than the inspection: edited revisions, a database moved behind the operator's back. */
export function decideOnInspection(facts: {
  readonly previous: Status;
  readonly newGeneration: boolean;
  readonly currentRevision: string;
  readonly checksumError: string | null;
}): Refusal | null {
  if (facts.checksumError) {
    return drifted(Reason.ChecksumMismatch, facts.checksumError);
  }
  const { previous, currentRevision } = facts;
  const wasReady = previous.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
  if (
    !facts.newGeneration &&
    wasReady &&
    previous.currentRevision !== undefined &&
    previous.currentRevision !== currentRevision
  ) {
    const message =
      `the database moved to ${currentRevision || 'base'} outside the operator (it was left at ${previous.currentRevision || 'base'}); ` +
      'nothing was changed: set the spec to the revision you want (any spec change) to reconcile it';
    return drifted(Reason.OutOfBandChange, message);
  }
  return null;
}

/** A refusal that also marks the resource Drifted, says so in an Event and looks again at the resync. */
const drifted = (
  reason: typeof Reason.ChecksumMismatch | typeof Reason.OutOfBandChange,
  message: string,
): Refusal => ({
  kind: 'refuse',
  reason,
  message,
  drift: { reason, message },
  event: true,
  requeue: 'resync',
});

export interface PlanFacts {
  readonly spec: Pick<Spec, 'targetRevision' | 'allowDowngrade' | 'dryRun' | 'approval' | 'drift'>;
  readonly previous: Status;
  readonly currentRevision: string;
  readonly targetRevision: string;
  /** The plan toward the target, and what of it may run now (post-deploy steps wait for a rollout). */
  readonly planned: Plan;
  readonly gated: { readonly plan: Plan; readonly waiting: string | null };
  readonly schemaDrift: Drift | null;
  /** Lint of the plan judged by the database (observed only for a plan a person reviews). */
  readonly findings: readonly Finding[];
  /** The revisor.dev/approved-plan annotation. */
  readonly approvedHash: string | undefined;
}

export type PlanDecision =
  | Refusal
  | { readonly kind: 'dry-run'; readonly message: string; readonly plan: PlannedStep[] }
  | { readonly kind: 'await-approval'; readonly approval: PendingApproval; readonly announce: boolean }
  | { readonly kind: 'wait-rollout'; readonly message: string }
  | { readonly kind: 'ready'; readonly message: string }
  | { readonly kind: 'run'; readonly plan: Plan; readonly startMessage: string };

export function decidePlan(facts: PlanFacts): PlanDecision {
  const { spec, planned, gated, schemaDrift, currentRevision, targetRevision } = facts;
  const steps = planned.steps.length;
  if (schemaDrift && spec.drift.action === 'Block' && steps > 0) {
    return {
      kind: 'refuse',
      reason: Reason.DriftBlocked,
      message: `${steps} step(s) held back by drift.action Block: ${schemaDrift.message}`,
      drift: schemaDrift,
      event: false,
      requeue: 'resync',
    };
  }
  if (planned.direction === 'downgrade' && steps > 0 && !spec.allowDowngrade) {
    return {
      kind: 'refuse',
      reason: Reason.DowngradeNotAllowed,
      message: `target ${spec.targetRevision} (${targetRevision || 'base'}) is below the current revision ${currentRevision}; set allowDowngrade: true to revert, nothing was touched`,
      drift: null,
      event: true,
      requeue: 'change',
    };
  }
  if (spec.dryRun) {
    return {
      kind: 'dry-run',
      message: steps
        ? `dry run: ${steps} step(s) would run (${planned.direction}); see status.plan`
        : 'dry run: the database is at the target',
      plan: plannedSteps(planned, facts.findings),
    };
  }
  const approval = pendingApproval(spec.approval, gated.plan, facts.approvedHash, facts.findings);
  if (approval)
    return { kind: 'await-approval', approval, announce: facts.previous.planHash !== approval.hash };
  if (gated.plan.steps.length === 0 && gated.waiting) return { kind: 'wait-rollout', message: gated.waiting };
  if (steps === 0) return { kind: 'ready', message: `the database is at ${currentRevision || 'base'}` };
  return {
    kind: 'run',
    plan: gated.plan,
    startMessage: `${planned.direction} ${currentRevision || 'base'} -> ${targetRevision || 'base'}: ${steps} step(s)`,
  };
}

/** What a failure leads to: retried with backoff, given up on (RetriesExhausted), or left for a person. */
export interface Retry {
  readonly reason: ReasonName;
  /** The failure's message with what happens next. */
  readonly message: string;
  readonly attempts: number;
  /** The controller retries it by itself. */
  readonly transient: boolean;
  readonly requeueAfterMs: number | null;
}

export function backoffMs(retry: Spec['retry'], attempts: number): number {
  const { initialBackoffSeconds, maxBackoffSeconds } = retry;
  return Math.min(initialBackoffSeconds * 2 ** Math.max(0, attempts - 1), maxBackoffSeconds) * 1000;
}

export function decideRetry(
  retry: Spec['retry'],
  attempts: number,
  reason: ReasonName,
  message: string,
): Retry {
  const tries = attempts + 1;
  const exhausted = retry.maxAttempts > 0 && tries >= retry.maxAttempts;
  const transient = isTransient(reason) && !exhausted;
  const suffix = transient
    ? `; retrying in ${backoffMs(retry, tries) / 1000}s (attempt ${tries})`
    : exhausted
      ? `; gave up after ${tries} attempts: change the spec to try again`
      : '; fix the cause and change the spec (or what it references) to try again';
  return {
    reason: exhausted ? Reason.RetriesExhausted : reason,
    message: `${message}${suffix}`,
    attempts: tries,
    transient,
    requeueAfterMs: transient ? backoffMs(retry, tries) : null,
  };
}

/** What a run's end leads to: retried (its failure's reason), waiting for a rollout, or Ready. */
export type AfterRun =
  | { readonly kind: 'retry'; readonly reason: ReasonName; readonly message: string }
  | { readonly kind: 'wait-rollout'; readonly message: string }
  | { readonly kind: 'ready'; readonly message: string; readonly event: string };

export function decideAfterRun(facts: {
  readonly error: { readonly code: ErrorCode; readonly message: string } | null;
  /** Post-deploy steps held back for a rollout, when some were. */
  readonly waiting: string | null;
  readonly currentRevision: string;
  /** What the run set out to do, as its start was announced ("upgrade a -> b: 3 step(s)"). */
  readonly run: string;
}): AfterRun {
  if (facts.error)
    return { kind: 'retry', reason: reasonFor(facts.error.code), message: facts.error.message };
  if (facts.waiting) return { kind: 'wait-rollout', message: facts.waiting };
  // The same message as a pass that finds nothing to do, so the next resync writes nothing.
  const message = `the database is at ${facts.currentRevision || 'base'}`;
  // The Event says where the run started from: a fast run announced no start (step-progress.ts).
  return { kind: 'ready', message, event: `${facts.run} applied; ${message}` };
}
