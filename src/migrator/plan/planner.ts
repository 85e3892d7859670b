import type { RevisionGraph } from '../chain/graph.js';
import type { Migration } from '../chain/migration.js';
import { RevisorError } from '../errors/errors.js';
import type { Statement } from '../ops/statement.js';
import { resolveTarget, type Target } from './targets.js';
import { type Direction, type RowChange, transition } from './version-rows.js';

export interface Step {
  readonly revision: string;
  readonly direction: Direction;
  readonly migration: Migration;
  /** The version table's rows before and after this step, and the row changes between. */
  readonly headsBefore: readonly string[];
  readonly headsAfter: readonly string[];
  readonly changes: readonly RowChange[];
}

/** What a step runs: its migration's upgrade or downgrade statements. */
export const statementsOf = (step: Step): readonly Statement[] =>
  step.direction === 'upgrade' ? step.migration.upgrade() : step.migration.downgrade();

/** A plan is frozen data: what will run, in order, and where it leaves the version table. */
export interface Plan {
  readonly direction: Direction;
  readonly fromHeads: readonly string[];
  readonly toHeads: readonly string[];
  readonly steps: readonly Step[];
}

export function assertKnownHeads(graph: RevisionGraph, heads: readonly string[]): void {
  const unknown = heads.filter((h) => !graph.has(h));
  if (unknown.length > 0) {
    throw new RevisorError(
      'UnknownRevision',
      `the database is at revision ${unknown.join(', ')}, which the migrations do not contain; ` +
        'deploy the migrations that include it, or after checking the schema by hand run "revisor stamp <rev> --purge"',
      { revisions: unknown },
    );
  }
}

function build(
  graph: RevisionGraph,
  direction: Direction,
  fromHeads: readonly string[],
  order: string[],
): Plan {
  let heads: readonly string[] = [...fromHeads].sort();
  const steps = order.map((revision) => {
    const { heads: after, changes } = transition(graph, heads, revision, direction);
    const step: Step = Object.freeze({
      revision,
      direction,
      migration: graph.get(revision),
      headsBefore: heads,
      headsAfter: after,
      changes: Object.freeze(changes),
    });
    heads = after;
    return step;
  });
  return Object.freeze({
    direction,
    fromHeads: [...fromHeads].sort(),
    toHeads: heads,
    steps: Object.freeze(steps),
  });
}

/** Everything below or at the target that is not yet applied, parents first. */
export function planUpgrade(graph: RevisionGraph, currentHeads: readonly string[], target: Target): Plan {
  assertKnownHeads(graph, currentHeads);
  const applied = graph.ancestors(currentHeads);
  const needed = new Set([...graph.ancestors(target)].filter((id) => !applied.has(id)));
  return build(graph, 'upgrade', currentHeads, graph.orderUp(needed, target));
}

/**
 * Everything applied above the target, children first. Revisions on branches the
 * target does not descend from stay. base (an empty target) removes everything.
 */
export function planDowngrade(graph: RevisionGraph, currentHeads: readonly string[], target: Target): Plan {
  assertKnownHeads(graph, currentHeads);
  const applied = graph.ancestors(currentHeads);
  const notApplied = target.filter((t) => !applied.has(t));
  if (notApplied.length > 0) {
    throw new RevisorError(
      'InvalidTarget',
      `cannot downgrade to ${notApplied.join(', ')}: it is not applied (the database is at ${currentHeads.join(', ') || 'base'}); use upgrade`,
      { target: notApplied, current: currentHeads },
    );
  }
  const keep = graph.ancestors(target);
  const removed =
    target.length === 0
      ? applied
      : new Set([...graph.descendants(target)].filter((id) => applied.has(id) && !keep.has(id)));
  const order = graph.orderUp(removed, [...currentHeads]).reverse();
  return build(graph, 'downgrade', currentHeads, order);
}

/**
 * The plan that brings the database to `target` whichever way it lies: upward while any
 * target revision is unapplied, else downward (an empty plan when it is there already).
 * For declarative callers, stamp and the operator, which are given a state, not a verb.
 */
export function planToward(graph: RevisionGraph, currentHeads: readonly string[], target: Target): Plan {
  const applied = graph.ancestors(currentHeads);
  return target.every((t) => applied.has(t))
    ? planDowngrade(graph, currentHeads, target)
    : planUpgrade(graph, currentHeads, target);
}

export function plan(
  graph: RevisionGraph,
  currentHeads: readonly string[],
  direction: Direction,
  targetText: string,
): Plan {
  assertKnownHeads(graph, currentHeads);
  const target = resolveTarget(graph, targetText, currentHeads);
  return direction === 'upgrade'
    ? planUpgrade(graph, currentHeads, target)
    : planDowngrade(graph, currentHeads, target);
}

/** Exactly one revision up or down from the current heads (revisor check's staircase). */
export function singleStepPlan(
  graph: RevisionGraph,
  currentHeads: readonly string[],
  revision: string,
  direction: Direction,
): Plan {
  assertKnownHeads(graph, currentHeads);
  const applied = graph.ancestors(currentHeads);
  const migration = graph.get(revision);
  const ok =
    direction === 'upgrade'
      ? !applied.has(revision) && migration.downRevisions.every((d) => applied.has(d))
      : currentHeads.includes(revision);
  if (!ok) {
    throw new RevisorError(
      'InvalidTarget',
      `cannot ${direction} exactly ${revision} from ${currentHeads.join(', ') || 'base'}`,
      { revision, current: currentHeads },
    );
  }
  return build(graph, direction, currentHeads, [revision]);
}
