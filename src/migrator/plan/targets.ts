import type { RevisionGraph } from '../chain/graph.js';
import { RevisorError } from '../errors/errors.js';

/**
 * A resolved target: the revisions that must be the database's (upgrade) or that
 * must remain (downgrade). An empty list is `base`.
 */
export type Target = readonly string[];

/**
 * A full id or a unique prefix of one, by Alembic's rule: a prefix matches only ids longer
 * than three characters, and a miss with a prefix under four characters says so.
 */
export function resolveRevision(
  graph: RevisionGraph,
  text: string,
  within: (ids: readonly string[]) => readonly string[] = (ids) => ids,
): string {
  if (graph.has(text)) return text;
  const candidates = within([...graph.ids()].filter((id) => id.length > 3 && id.startsWith(text))).toSorted();
  if (candidates.length === 1) return candidates[0]!;
  if (candidates.length === 0) {
    const short = text.length < 4 ? '; give at least four characters of a revision id' : '';
    throw new RevisorError(
      'RevisionNotFound',
      `no revision matches "${text}"${short}; run "revisor history" to list them`,
      { target: text },
    );
  }
  throw new RevisorError(
    'AmbiguousRevision',
    `"${text}" matches several revisions: ${candidates.join(', ')}; give more characters`,
    { target: text, candidates },
  );
}

/** `head`: the one revision nothing names as its down revision (a revision others only depend on counts, as in Alembic). */
export function singleHead(graph: RevisionGraph): string {
  const heads = graph.versionedHeads;
  if (heads.length === 1) return heads[0]!;
  if (heads.length === 0)
    throw new RevisorError('RevisionNotFound', 'the migrations directory has no revisions');
  const labelled = heads.filter((h) => graph.labels(h).length > 0).map((h) => `${graph.labels(h)[0]}@head`);
  throw new RevisorError(
    'MultipleHeads',
    `there are several heads (${heads.join(', ')}); name one${labelled.length ? ` (or ${labelled.join(', ')})` : ''}, ` +
      'use "heads" for all, or merge them with "revisor merge"',
    { heads },
  );
}

/** The revision a branch name stands for: the one declaring the label, or a revision id (Alembic's _resolve_branch). */
export function resolveBranch(graph: RevisionGraph, name: string): string {
  const owner = graph.labelOwner(name);
  if (owner !== undefined) return owner;
  try {
    return resolveRevision(graph, name);
  } catch {
    const labels = [...graph.ids()].flatMap((id) => graph.get(id).branchLabels).sort();
    throw new RevisorError(
      'RevisionNotFound',
      `no branch "${name}": it is neither a branch label${labels.length ? ` (${labels.join(', ')})` : ''} nor a revision`,
      { target: name },
    );
  }
}

/**
 * Moves up (steps > 0) or down (steps < 0) from `start` (null: base), refusing forks. Going
 * up within `branch`, only children on that branch's lineage count.
 */
function walk(
  graph: RevisionGraph,
  start: string | null,
  steps: number,
  label: string,
  branch?: ReadonlySet<string>,
): Target {
  let current: readonly string[] = start === null ? [] : [start];
  for (let i = 0; i < Math.abs(steps); i++) {
    if (steps > 0) {
      let next = current.length === 0 ? graph.bases : graph.children(current[0]!);
      if (branch !== undefined) next = next.filter((id) => branch.has(id));
      if (next.length === 0) {
        throw new RevisorError(
          'InvalidTarget',
          `${label}: only ${i} revision(s) above ${current[0] ?? 'base'}`,
          {
            target: label,
          },
        );
      }
      if (next.length > 1) {
        throw new RevisorError(
          'AmbiguousRevision',
          `${label}: ${current[0] ?? 'base'} branches into ${next.join(', ')}; name the revision instead`,
          { target: label, candidates: next },
        );
      }
      current = next;
    } else {
      if (current.length === 0) {
        throw new RevisorError('InvalidTarget', `${label}: goes below base`, { target: label });
      }
      if (current.length > 1) {
        throw new RevisorError(
          'AmbiguousRevision',
          `${label}: walking down reaches the merge of ${current.join(', ')}; name the revision instead`,
          { target: label, candidates: current },
        );
      }
      current = graph.get(current[0]!).downRevisions;
    }
  }
  // Alembic refuses a relative step that lands on a merge's parents: it is no one revision.
  if (steps < 0 && current.length > 1) {
    throw new RevisorError(
      'AmbiguousRevision',
      `${label}: walking down from ${start} reaches the merge's parents ${current.join(', ')}; name the revision ` +
        `to go to instead (one of ${current.join(', ')}, or base)`,
      { target: label, candidates: current },
    );
  }
  return current;
}

/** The revision of `branch`'s lineage that a relative target without a revision counts from (null: base). */
function branchStart(
  graph: RevisionGraph,
  currentHeads: readonly string[],
  branch: ReadonlySet<string>,
  spec: string,
  up: boolean,
) {
  const onBranch = currentHeads.filter((h) => branch.has(h));
  let starts = onBranch;
  if (starts.length === 0) {
    // The branch's revisions are below another head (a merge, or a dependency of another
    // branch): count from the highest of them that is applied, as Alembic backtracks.
    const active = graph.ancestors(currentHeads);
    if (up) {
      // upgrade: the branch's applied revisions that none of them builds on
      const onLine = [...active].filter((id) => branch.has(id));
      const below = new Set(onLine.flatMap((id) => graph.prerequisites(id)));
      starts = onLine.filter((id) => !below.has(id));
    } else {
      // downgrade: of the applied revisions no applied one builds on by down revision, the branch's
      const tops = [...active].filter((id) => !graph.children(id).some((c) => active.has(c)));
      starts = tops.filter((id) => branch.has(id));
    }
  }
  if (starts.length > 1) {
    throw new RevisorError(
      'AmbiguousRevision',
      `${spec}: the branch is applied up to several revisions (${starts.join(', ')}); name the one to count from`,
      { target: spec, candidates: starts },
    );
  }
  if (starts.length === 0 && !up) {
    throw new RevisorError('InvalidTarget', `${spec}: nothing of that branch is applied`, { target: spec });
  }
  return starts[0] ?? null;
}

/** `<anchor>+N` / `<anchor>-N` (the anchor may be empty: the current revision). */
function parseRelative(text: string): { anchor: string; steps: number; sign: string; count: string } | null {
  const match = /^(.*?)([+-])(\d+)$/.exec(text);
  if (!match) return null;
  const [, anchor, sign, count] = match as unknown as [string, string, string, string];
  return { anchor, steps: Number(count) * (sign === '+' ? 1 : -1), sign, count };
}

/** How many revisions a relative target (`r2-2`, `-1`, `label@+3`) counts; null for any other. */
export function relativeSteps(text: string): number | null {
  const spec = text.trim();
  const at = spec.indexOf('@');
  return parseRelative(at > 0 ? spec.slice(at + 1) : spec)?.steps ?? null;
}

/** `<branch>@…`: Alembic's targets within a named branch (or the lineage of a revision). */
function resolveOnBranch(
  graph: RevisionGraph,
  name: string,
  rest: string,
  currentHeads: readonly string[],
  spec: string,
): Target {
  // The branch's lineage, computed once: every candidate below is a membership test.
  const branch = graph.lineage(resolveBranch(graph, name));
  const onLineage = (ids: readonly string[]) => ids.filter((id) => branch.has(id));
  if (rest === 'heads') return onLineage(graph.versionedHeads);
  if (rest === 'base') return [];
  if (rest === 'head') {
    const heads = onLineage(graph.versionedHeads);
    if (heads.length > 1) {
      throw new RevisorError(
        'MultipleHeads',
        `${spec}: the branch has several heads (${heads.join(', ')}); name one, or use ${name}@heads`,
        { heads },
      );
    }
    return heads;
  }
  const relative = parseRelative(rest);
  if (relative) {
    const { anchor, steps } = relative;
    const start = anchor === '' ? branchStart(graph, currentHeads, branch, spec, steps > 0) : member(anchor);
    return walk(graph, start, steps, spec, steps > 0 ? branch : undefined);
  }
  return [member(rest)];

  function member(text: string): string {
    const id = resolveRevision(graph, text, (ids) => onLineage(ids));
    if (!branch.has(id)) {
      throw new RevisorError('InvalidTarget', `${spec}: revision ${id} is not on branch ${name}`, {
        target: spec,
      });
    }
    return id;
  }
}

/**
 * Alembic's target grammar: head, heads, base, <id or prefix>, +N, -N, <rev>+N, <rev>-N, and
 * each of those within a branch as <label>@… (a revision id works as the label too:
 * <rev>@head). Relative targets without a revision count from the database's current head.
 */
export function resolveTarget(graph: RevisionGraph, text: string, currentHeads: readonly string[]): Target {
  const spec = text.trim();
  const at = spec.indexOf('@');
  if (at > 0) return resolveOnBranch(graph, spec.slice(0, at), spec.slice(at + 1), currentHeads, spec);
  if (spec === 'heads') return graph.heads;
  if (spec === 'head') return [singleHead(graph)];
  if (spec === 'base') return [];
  const relative = parseRelative(spec);
  if (relative) {
    const { anchor, steps, sign, count } = relative;
    let start: string | null;
    if (anchor === '') {
      if (currentHeads.length > 1) {
        const labelled = currentHeads.map((h) => graph.labels(h)[0]);
        const suggestions = currentHeads.map((h, i) =>
          labelled[i] ? `${labelled[i]}@${sign}${count}` : `${h}${sign}${count}`,
        );
        throw new RevisorError(
          'MultipleHeads',
          `${spec} is relative to the current revision, but the database has several heads (${currentHeads.join(', ')}); ` +
            `name the one to count from: ${suggestions.join(' or ')}`,
          { heads: currentHeads },
        );
      }
      start = currentHeads[0] ?? null;
    } else {
      start =
        anchor === 'head' ? singleHead(graph) : anchor === 'base' ? null : resolveRevision(graph, anchor);
    }
    return walk(graph, start, steps, spec);
  }
  if (spec === '')
    throw new RevisorError('InvalidTarget', 'empty target; use head, heads, base or a revision id');
  return [resolveRevision(graph, spec)];
}
