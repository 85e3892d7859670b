import { createHash } from 'node:crypto';
import type { Drift, Outcome } from '../conditions.js';
import { Reason } from '../reasons.js';
import type { Condition, Status } from '../resource.js';
import type { LabelSelector, SetSpec, SetStatus, TenantState } from '../set-resource.js';

/**
 * The decisions of a DatabaseMigrationSet, pure: which tenant database is in which state,
 * which ones start the new target now, and what the set's status says. The shell
 * (set-reconcile.ts) reads the Secrets and children and carries the decisions out.
 */

/** One tenant database: a Secret and the key holding its URL. */
export interface TenantDatabase {
  readonly secret: string;
  readonly key: string;
}

/** What the set reads of a child DatabaseMigration. */
export interface ChildView {
  readonly name: string;
  readonly secret: string;
  /** The child's spec.targetRevision: the set's target once the child was started on it. */
  readonly targetRevision: string;
  readonly generation: number;
  readonly status: Status | undefined;
}

export interface TenantReading {
  readonly state: TenantState;
  /** The child carries the set's target (it was started on it). */
  readonly started: boolean;
  readonly reason: string;
  readonly message: string;
}

const condition = (status: Status | undefined, type: Condition['type']) =>
  status?.conditions?.find((c) => c.type === type);

/** Ready outcomes that wait for a person rather than for the operator. */
const waitingReasons: readonly string[] = [Reason.Suspended, Reason.DryRun, Reason.ApprovalRequired];

export function readTenant(child: ChildView | undefined, target: string): TenantReading {
  if (!child) return { state: 'Waiting', started: false, reason: 'NotStarted', message: 'not started yet' };
  if (child.targetRevision !== target)
    return {
      state: 'Waiting',
      started: false,
      reason: 'NotStarted',
      message: `stays at target ${child.targetRevision} until the rollout reaches it`,
    };
  const ready = condition(child.status, 'Ready');
  if (!ready || child.status?.observedGeneration !== child.generation)
    return { state: 'Progressing', started: true, reason: Reason.Migrating, message: 'not reconciled yet' };
  const { reason, message } = ready;
  if (ready.status === 'True') return { state: 'Ready', started: true, reason, message };
  if (
    condition(child.status, 'Degraded')?.status === 'True' ||
    condition(child.status, 'Stalled')?.status === 'True'
  )
    return { state: 'Failed', started: true, reason, message };
  // A retry under way is still a failure until it succeeds (attempts is reset then): the wave
  // must not resume for the few seconds each retry runs.
  const attempts = child.status?.attempts ?? 0;
  if (attempts > 0)
    return {
      state: 'Failed',
      started: true,
      reason,
      message: `retrying after ${attempts} failed attempt(s): ${message}`,
    };
  if (waitingReasons.includes(reason)) return { state: 'Waiting', started: true, reason, message };
  return { state: 'Progressing', started: true, reason, message };
}

export interface WaveDecision {
  /** Secrets whose databases start on the target now, in rollout order. */
  readonly start: readonly string[];
  /** Why nothing (more) starts: paused, halted, canary, or null. */
  readonly holding: 'paused' | 'halted' | 'canary' | null;
}

/**
 * The next step of the rollout. The canary (the first `canary` databases in rollout order)
 * must all be Ready on the target before any other starts; at most `maxParallel` started
 * databases are unfinished at once (failed ones aside); once `maxFailures` started
 * databases have failed, nothing new starts until they are fixed.
 */
export function decideWave(
  order: readonly string[],
  readings: ReadonlyMap<string, TenantReading>,
  rollout: SetSpec['rollout'],
): WaveDecision {
  const reading = (secret: string) => readings.get(secret) ?? readTenant(undefined, '');
  if (rollout.pause) return { start: [], holding: 'paused' };
  const started = order.filter((s) => reading(s).started);
  if (started.filter((s) => reading(s).state === 'Failed').length >= rollout.maxFailures)
    return { start: [], holding: 'halted' };
  const canary = order.slice(0, rollout.canary);
  const canaryDone = canary.every((s) => reading(s).started && reading(s).state === 'Ready');
  const eligible = canaryDone ? order : canary;
  const unfinished = started.filter((s) => !['Ready', 'Failed'].includes(reading(s).state)).length;
  const slots = Math.max(0, rollout.maxParallel - unfinished);
  const start = eligible.filter((s) => !reading(s).started).slice(0, slots);
  return { start, holding: canaryDone ? null : 'canary' };
}

/** A child's name: the set's and the Secret's, shortened with a hash past 63 characters (a label value's limit). */
export function childName(setName: string, secret: string): string {
  const full = `${setName}-${secret}`;
  if (full.length <= 63) return full;
  const hash = createHash('sha256').update(full).digest('hex').slice(0, 10);
  return `${full.slice(0, 52).replace(/[-.]+$/, '')}-${hash}`;
}

/**
 * A label selector as the API's labelSelector query parameter. client-node has no
 * formatter for it (it only passes the string through).
 */
export function selectorQuery(selector: LabelSelector): string {
  const terms = Object.entries(selector.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`);
  for (const e of selector.matchExpressions ?? []) {
    const values = `(${(e.values ?? []).join(',')})`;
    if (e.operator === 'In') terms.push(`${e.key} in ${values}`);
    else if (e.operator === 'NotIn') terms.push(`${e.key} notin ${values}`);
    else if (e.operator === 'Exists') terms.push(e.key);
    else terms.push(`!${e.key}`);
  }
  return terms.join(',');
}

/** The set's spec as a child's: everything but databases and rollout, with the child's database and target. */
export function childSpec(
  rawSetSpec: Record<string, unknown>,
  database: TenantDatabase,
  targetRevision: string,
): Record<string, unknown> {
  const { databases: _databases, rollout: _rollout, ...shared } = rawSetSpec;
  return {
    ...shared,
    targetRevision,
    database: { urlSecretRef: { name: database.secret, key: database.key } },
  };
}

const failingShown = 5;

export interface SetSummary {
  readonly status: Omit<SetStatus, 'conditions' | 'observedGeneration'>;
  readonly outcome: Outcome;
  readonly drift: Drift | null;
}

/** The set's status and conditions from its tenants' readings and the wave decision. */
export function summarize(
  target: string,
  order: readonly string[],
  readings: ReadonlyMap<string, TenantReading>,
  children: ReadonlyMap<string, ChildView>,
  wave: WaveDecision,
  rollout: SetSpec['rollout'],
): SetSummary {
  const counts: Record<TenantState, number> = { Ready: 0, Progressing: 0, Failed: 0, Waiting: 0 };
  const revisions = new Map<string, number>();
  const failing: NonNullable<SetStatus['failing']> = [];
  const drifted: { name: string; drift: Condition }[] = [];
  let stalled = false;
  for (const secret of order) {
    const reading = readings.get(secret) ?? readTenant(undefined, target);
    counts[reading.state]++;
    const child = children.get(secret);
    const revision = child?.status?.currentRevision ?? '';
    revisions.set(revision, (revisions.get(revision) ?? 0) + 1);
    if (reading.state === 'Failed' && child) {
      if (failing.length < failingShown)
        failing.push({ secret, migration: child.name, reason: reading.reason, message: reading.message });
      stalled ||= condition(child.status, 'Stalled')?.status === 'True';
    }
    const drift = condition(child?.status, 'Drifted');
    if (child && drift?.status === 'True') drifted.push({ name: child.name, drift });
  }
  const total = order.length;
  const status = {
    targetRevision: target,
    databases: total,
    counts,
    revisions: [...revisions]
      .map(([revision, databases]) => ({ revision, databases }))
      .sort((a, b) => b.databases - a.databases || a.revision.localeCompare(b.revision)),
    failing,
  };
  const tally = `${counts.Ready} of ${total} database(s) Ready on ${target}, ${counts.Progressing} progressing, ${counts.Failed} failed, ${counts.Waiting} waiting`;
  const outcome: Outcome =
    counts.Ready === total
      ? { kind: 'ready', message: `all ${total} database(s) are at ${target}` }
      : wave.holding === 'paused'
        ? {
            kind: 'suspended',
            message: `spec.rollout.pause (or spec.suspend) is true: no database starts; ${tally}`,
          }
        : wave.holding === 'halted'
          ? {
              kind: 'failed',
              reason: Reason.RolloutHalted,
              message:
                `${counts.Failed} database(s) failed (maxFailures ${rollout.maxFailures}): ` +
                `${failing.map((f) => `${f.secret} (${f.reason})`).join(', ')}; nothing new starts and the others stay ` +
                `at their revision until they are fixed; ${tally}`,
              // The failing children retry by themselves unless one needs a human.
              retrying: !stalled,
            }
          : {
              kind: 'progressing',
              reason: Reason.RollingOut,
              message:
                wave.holding === 'canary'
                  ? `canary of ${rollout.canary} first: ${order.slice(0, rollout.canary).join(', ')}; ${tally}`
                  : tally,
            };
  const first = drifted[0];
  const drift: Drift | null = first
    ? {
        reason: first.drift.reason as Drift['reason'],
        message: `${drifted.length} database(s) drifted, first ${first.name}: ${first.drift.message}`,
      }
    : null;
  return { status, outcome, drift };
}
