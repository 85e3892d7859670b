import { Reason, type ReasonName } from './reasons.js';
import type { Condition } from './resource.js';

/** Where a reconcile left the resource; the conditions follow from it alone. */
export type Outcome =
  | { kind: 'ready'; message: string }
  | {
      kind: 'progressing';
      reason:
        | typeof Reason.Migrating
        | typeof Reason.WaitingForLock
        | typeof Reason.WaitingForRollout
        | typeof Reason.WaitingForJob
        | typeof Reason.WaitingForTableLock
        | typeof Reason.RollingOut;
      message: string;
    }
  | {
      kind: 'failed';
      reason: ReasonName;
      message: string;
      /** The controller retries it by itself (a transient failure); otherwise it needs a human. */
      retrying?: boolean;
    }
  | { kind: 'dry-run'; message: string }
  | { kind: 'awaiting-approval'; message: string }
  | { kind: 'suspended'; message: string };

export interface Drift {
  readonly reason: typeof Reason.OutOfBandChange | typeof Reason.ChecksumMismatch | typeof Reason.SchemaDrift;
  readonly message: string;
}

type Desired = Omit<Condition, 'lastTransitionTime' | 'observedGeneration'>;
type Status3 = readonly [
  ready: Condition['status'],
  progressing: Condition['status'],
  degraded: Condition['status'],
];

/** Ready, Progressing and Degraded for each kind of outcome. */
const statuses: Record<Outcome['kind'], Status3> = {
  ready: ['True', 'False', 'False'],
  progressing: ['False', 'True', 'False'],
  failed: ['False', 'False', 'True'],
  'dry-run': ['False', 'False', 'False'],
  'awaiting-approval': ['False', 'False', 'False'],
  suspended: ['False', 'False', 'False'],
};

function reasonOf(outcome: Outcome): string {
  switch (outcome.kind) {
    case 'ready':
      return Reason.Applied;
    case 'dry-run':
      return Reason.DryRun;
    case 'awaiting-approval':
      return Reason.ApprovalRequired;
    case 'suspended':
      return Reason.Suspended;
    default:
      return outcome.reason;
  }
}

function desired(outcome: Outcome, drift: Drift | null): Desired[] {
  const [ready, progressing, degraded] = statuses[outcome.kind];
  const reason = reasonOf(outcome);
  const { message } = outcome;
  // kstatus (what Flux, kpt and cli-utils read): Reconciling while work goes on (a retry
  // included), Stalled when it will not go on without a human.
  const retrying = outcome.kind === 'failed' && outcome.retrying === true;
  const reconciling = outcome.kind === 'progressing' || retrying ? 'True' : 'False';
  const stalled = outcome.kind === 'failed' && !retrying ? 'True' : 'False';
  return [
    { type: 'Ready', status: ready, reason, message },
    { type: 'Progressing', status: progressing, reason, message },
    { type: 'Degraded', status: degraded, reason, message },
    { type: 'Reconciling', status: reconciling, reason, message },
    { type: 'Stalled', status: stalled, reason, message },
    drift
      ? { type: 'Drifted', status: 'True', reason: drift.reason, message: drift.message }
      : {
          type: 'Drifted',
          status: 'False',
          reason: Reason.NoDrift,
          message: 'the database matches what the operator applied',
        },
  ];
}

/**
 * The conditions for an outcome. lastTransitionTime moves only when a condition's
 * status changes, as Kubernetes conventions ask, so an unchanged outcome gives an
 * unchanged status and no write.
 */
export function conditionsFor(
  previous: readonly Condition[] | undefined,
  outcome: Outcome,
  drift: Drift | null,
  generation: number,
  now: Date,
): Condition[] {
  return desired(outcome, drift).map((d) => {
    const before = previous?.find((p) => p.type === d.type);
    const lastTransitionTime =
      before && before.status === d.status ? before.lastTransitionTime : now.toISOString();
    return { ...d, lastTransitionTime, observedGeneration: generation };
  });
}
