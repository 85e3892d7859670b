import type { RevisionGraph } from '../chain/graph.js';
import type { Migration } from '../chain/migration.js';
import { RevisorError } from '../errors/errors.js';
import type { Statement } from '../ops/statement.js';
import { relativeSteps, resolveBranch, resolveTarget, type Target } from './targets.js';
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

/** What a downgrade removes grows from: the target's children by down revision, or every base for base. */
const downgradeRoots = (graph: RevisionGraph, target: Target): readonly string[] =>
  target.length === 0 ? graph.bases : target.flatMap((t) => graph.children(t));

/**
 * Everything applied above the target, children first: the revisions built on the target's
 * children, by down revision or dependency (Alembic's rule, so a revision that only depends
 * on the target stays). Revisions on branches the target does not lead to stay; base (an
 * empty target) removes everything. `roots` narrows what is removed to what grows from them.
 */
export function planDowngrade(
  graph: RevisionGraph,
  currentHeads: readonly string[],
  target: Target,
  roots: readonly string[] = downgradeRoots(graph, target),
): Plan {
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
  const removed = new Set([...graph.descendants(roots)].filter((id) => applied.has(id) && !keep.has(id)));
  const onlyNeeded = target.filter((t) => !currentHeads.includes(t));
  if (removed.size === 0 && onlyNeeded.length > 0) {
    throw new RevisorError(
      'InvalidTarget',
      `nothing to remove for ${onlyNeeded.join(', ')}: it is applied only because ${currentHeads.join(', ')} ` +
        'depends on it; downgrade the revision that depends on it instead',
      { target: onlyNeeded, current: currentHeads },
    );
  }
  return build(graph, 'downgrade', currentHeads, graph.topDown(removed, currentHeads));
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
  if (direction === 'upgrade') {
    // A count down that ends below every revision names base, which no upgrade reaches;
    // Alembic refuses it too (and revisor refuses a count that goes further).
    if (target.length === 0 && (relativeSteps(targetText) ?? 0) < 0) {
      throw new RevisorError(
        'InvalidTarget',
        `${targetText.trim()}: counts down to base, where an upgrade cannot go; to remove every revision, ` +
          `downgrade ${targetText.trim()} (or downgrade base)`,
        { target: targetText },
      );
    }
    assertNoOverlap(graph, currentHeads);
    return planUpgrade(graph, currentHeads, target);
  }
  const branch = downgradeBranch(graph, targetText.trim(), currentHeads);
  if (branch === undefined) return planDowngrade(graph, currentHeads, target);
  let roots = downgradeRoots(graph, target);
  if (roots.length > 1) {
    // Alembic keeps to the named branch (or, for -N, the current head's): of the target's
    // children only those below it are removed.
    const below = graph.lineageBelow([branch]);
    roots = roots.filter((r) => below.has(r));
    if (roots.length === 0) {
      throw new RevisorError(
        'InvalidTarget',
        `${targetText}: nothing of the branch lies above that revision; name the revision to go to instead`,
        { target: targetText, current: currentHeads },
      );
    }
  }
  return planDowngrade(graph, currentHeads, target, roots);
}

/**
 * Rows of which one needs another (a downgrade through a depends_on can leave them, in
 * Alembic too): Alembic refuses to upgrade from them, and so does revisor.
 */
function assertNoOverlap(graph: RevisionGraph, currentHeads: readonly string[]): void {
  // One row cannot overlap itself: the usual case (and the no-op) walks nothing.
  if (currentHeads.length < 2) return;
  for (const head of currentHeads) {
    const below = graph.ancestors([head]);
    const overlapping = currentHeads.filter((other) => other !== head && below.has(other));
    if (overlapping.length > 0) {
      throw new RevisorError(
        'InvalidTarget',
        `the version table's rows overlap: ${head} already needs ${overlapping.join(', ')}; ` +
          `remove the redundant row with "revisor stamp ${currentHeads.filter((h) => !overlapping.includes(h)).join(' ')}"`,
        { current: currentHeads },
      );
    }
  }
}

/** The branch a downgrade target keeps to: `<branch>@…`, or the current head for `-N`. */
function downgradeBranch(
  graph: RevisionGraph,
  spec: string,
  currentHeads: readonly string[],
): string | undefined {
  const at = spec.indexOf('@');
  if (at > 0) return resolveBranch(graph, spec.slice(0, at));
  return /^-\d+$/.test(spec) && currentHeads.length === 1 ? currentHeads[0] : undefined;
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
