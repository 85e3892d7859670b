import { Reason, type ReasonName } from './reasons.js';
import type { Condition } from './resource.js';

/** Where a reconcile left the resource; the conditions follow from it alone. */
export type Outcome =
  | { kind: 'ready'; message: string }
  | { kind: 'progressing'; reason: typeof Reason.Migrating | typeof Reason.WaitingForLock; message: string }
  | { kind: 'failed'; reason: ReasonName; message: string }
  | { kind: 'dry-run'; message: string }
  | { kind: 'suspended'; message: string };

export interface Drift {
  readonly reason: typeof Reason.OutOfBandChange | typeof Reason.ChecksumMismatch;
  readonly message: string;
}

type Desired = Omit<Condition, 'lastTransitionTime' | 'observedGeneration'>;

function desired(outcome: Outcome, drift: Drift | null): Desired[] {
  const c = (type: Desired['type'], status: Desired['status'], reason: string, message: string): Desired => ({
    type,
    status,
    reason,
    message,
  });
  const drifted = drift
    ? c('Drifted', 'True', drift.reason, drift.message)
    : c('Drifted', 'False', Reason.NoDrift, 'the database matches what the operator applied');
  switch (outcome.kind) {
    case 'ready':
      return [
        c('Ready', 'True', Reason.Applied, outcome.message),
        c('Progressing', 'False', Reason.Applied, outcome.message),
        c('Degraded', 'False', Reason.Applied, outcome.message),
        drifted,
      ];
    case 'progressing':
      return [
        c('Ready', 'False', outcome.reason, outcome.message),
        c('Progressing', 'True', outcome.reason, outcome.message),
        c('Degraded', 'False', outcome.reason, outcome.message),
        drifted,
      ];
    case 'failed':
      return [
        c('Ready', 'False', outcome.reason, outcome.message),
        c('Progressing', 'False', outcome.reason, outcome.message),
        c('Degraded', 'True', outcome.reason, outcome.message),
        drifted,
      ];
    case 'dry-run':
      return [
        c('Ready', 'False', Reason.DryRun, outcome.message),
        c('Progressing', 'False', Reason.DryRun, outcome.message),
        c('Degraded', 'False', Reason.DryRun, outcome.message),
        drifted,
      ];
    case 'suspended':
      return [
        c('Ready', 'False', Reason.Suspended, outcome.message),
        c('Progressing', 'False', Reason.Suspended, outcome.message),
        c('Degraded', 'False', Reason.Suspended, outcome.message),
        drifted,
      ];
  }
}

/**
 * The four conditions for an outcome. lastTransitionTime moves only when a condition's
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
