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
export function resolveRevision(graph: RevisionGraph, text: string): string {
  if (graph.has(text)) return text;
  const candidates = [...graph.ids()].filter((id) => id.length > 3 && id.startsWith(text)).sort();
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

export function singleHead(graph: RevisionGraph): string {
  if (graph.heads.length === 1) return graph.heads[0]!;
  if (graph.heads.length === 0)
    throw new RevisorError('RevisionNotFound', 'the migrations directory has no revisions');
  throw new RevisorError(
    'MultipleHeads',
    `there are several heads (${graph.heads.join(', ')}); name one, use "heads" for all, or merge them with "revisor merge"`,
    { heads: graph.heads },
  );
}

/** Moves up (steps > 0) or down (steps < 0) from `start` (null: base), refusing forks. */
function walk(graph: RevisionGraph, start: string | null, steps: number, label: string): Target {
  let current: readonly string[] = start === null ? [] : [start];
  for (let i = 0; i < Math.abs(steps); i++) {
    if (steps > 0) {
      const next = current.length === 0 ? graph.bases : graph.children(current[0]!);
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

/**
 * Alembic's target grammar: head, heads, base, <id or prefix>, +N, -N, <rev>+N, <rev>-N.
 * Relative targets without a revision count from the database's current head.
 */
export function resolveTarget(graph: RevisionGraph, text: string, currentHeads: readonly string[]): Target {
  const spec = text.trim();
  if (spec === 'heads') return graph.heads;
  if (spec === 'head') return [singleHead(graph)];
  if (spec === 'base') return [];
  const relative = /^(.*?)([+-])(\d+)$/.exec(spec);
  if (relative) {
    const [, anchor, sign, count] = relative as unknown as [string, string, string, string];
    const steps = Number(count) * (sign === '+' ? 1 : -1);
    let start: string | null;
    if (anchor === '') {
      if (currentHeads.length > 1) {
        throw new RevisorError(
          'MultipleHeads',
          `${spec} is relative to the current revision, but the database has several heads (${currentHeads.join(', ')}); ` +
            `name the one to count from: ${currentHeads.map((h) => `${h}${sign}${count}`).join(' or ')}`,
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
