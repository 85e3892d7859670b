import { blockerEndedMessage, describeBlocked, type MigratorEvents } from '../../migrator/index.js';
import type { Outcome } from '../conditions.js';
import type { ControllerMetrics } from '../metrics.js';
import { Reason } from '../reasons.js';
import type { Status } from '../resource.js';

/** Where a run's progress goes: the resource's status, its Events, the metrics. */
export interface ProgressSink {
  readonly write: (outcome: Outcome, changes: Partial<Status>) => Promise<void>;
  readonly event: (type: 'Normal' | 'Warning', reason: string, message: string) => Promise<void>;
  readonly metrics: ControllerMetrics;
  readonly labels: { readonly namespace: string; readonly name: string };
  readonly now: () => Date;
}

/**
 * The migrator's events as the operator reports them while a run goes on: waiting for the
 * lock (once), blocked and unblocked steps, blockers ended, backfill progress (a status
 * write every few seconds, not one per batch). Each report is fire-and-forget: a failed
 * status write must not stop the run it describes.
 */
export function progressEvents(
  sink: ProgressSink,
  stepFinished: NonNullable<MigratorEvents['stepFinished']>,
): MigratorEvents {
  const { write, event, metrics } = sink;
  const { namespace, name } = sink.labels;
  let waitingReported = false;
  let lastBackfillWrite = 0;
  // Per step, the blocked time already counted in the metric (reports carry the total).
  const blockedCounted = new Map<string, number>();
  const countBlocked = (revision: string, blockedMs: number) => {
    const counted = blockedCounted.get(revision) ?? 0;
    blockedCounted.set(revision, Math.max(counted, blockedMs));
    metrics.blocked.inc({ namespace, name }, Math.max(0, blockedMs - counted) / 1000);
  };
  return {
    stepFinished,
    lockWaiting: (holder) => {
      if (waitingReported) return;
      waitingReported = true;
      const message = `waiting for the migration lock held by pid ${holder?.pid ?? '?'} (${holder?.applicationName ?? 'unknown'})`;
      void write({ kind: 'progressing', reason: Reason.WaitingForLock, message }, {}).catch(() => undefined);
      void event('Normal', Reason.WaitingForLock, message).catch(() => undefined);
    },
    lockAcquired: (waitedMs) => metrics.lockWait.observe(waitedMs / 1000),
    stepBlocked: (step, blocked, blockedMs) => {
      countBlocked(step.revision, blockedMs);
      const message = `${step.direction} of ${step.revision} ${describeBlocked(blocked)}`;
      void write({ kind: 'progressing', reason: Reason.WaitingForTableLock, message }, {}).catch(
        () => undefined,
      );
      void event('Warning', Reason.WaitingForTableLock, message).catch(() => undefined);
    },
    stepUnblocked: (step, blockedMs) => countBlocked(step.revision, blockedMs),
    blockerEnded: (step, blocker, action) => {
      const ended = action === 'cancelled' || action === 'terminated';
      void event(
        ended ? 'Normal' : 'Warning',
        Reason.BlockerEnded,
        blockerEndedMessage(step.revision, blocker, action),
      ).catch(() => undefined);
    },
    backfillProgress: (step, p) => {
      metrics.backfillRows.set({ namespace, name, revision: step.revision, table: p.table }, p.rowsDone);
      // A status write every few seconds, not one per batch.
      const nowMs = sink.now().getTime();
      if (nowMs - lastBackfillWrite < 5000) return;
      lastBackfillWrite = nowMs;
      const backfill = {
        revision: step.revision,
        table: p.table,
        rowsDone: p.rowsDone,
        estimatedRows: Math.round(p.estimatedRows),
      };
      const message = `backfill of ${p.table} in ${step.revision}: ${p.rowsDone} of ~${backfill.estimatedRows} rows`;
      void write({ kind: 'progressing', reason: Reason.Migrating, message }, { backfill }).catch(
        () => undefined,
      );
    },
  };
}
