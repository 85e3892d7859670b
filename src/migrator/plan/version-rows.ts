import type { RevisionGraph } from '../chain/graph.js';

/**
 * Alembic's head maintenance (alembic.runtime.migration.HeadMaintainer), as a pure
 * function: how one step changes the version table's rows (one row per head).
 */
export type RowChange =
  | { readonly kind: 'insert'; readonly revision: string }
  | { readonly kind: 'delete'; readonly revision: string }
  | { readonly kind: 'update'; readonly from: string; readonly to: string };

export type Direction = 'upgrade' | 'downgrade';

export interface HeadsTransition {
  readonly heads: readonly string[];
  readonly changes: readonly RowChange[];
}

/**
 * A revision's prerequisites are its down revisions and its dependencies: a dependency
 * that is a row is absorbed into the revision's row on upgrade, and restored on downgrade,
 * as Alembic does, so depends_on never leaves a row of its own behind.
 */
export function transition(
  graph: RevisionGraph,
  heads: readonly string[],
  revision: string,
  direction: Direction,
): HeadsTransition {
  const current = new Set(heads);
  const downs = graph.prerequisites(revision);
  const changes: RowChange[] = [];

  if (direction === 'upgrade') {
    const present = downs.filter((d) => current.has(d));
    if (downs.length === 0 || present.length === 0) {
      // A base, or a revision whose parents are below another head: a new branch row.
      changes.push({ kind: 'insert', revision });
    } else if (present.length > 1) {
      // A merge: all merged heads but one are deleted, that one becomes the merge.
      for (const d of present.slice(0, -1)) changes.push({ kind: 'delete', revision: d });
      changes.push({ kind: 'update', from: present[present.length - 1]!, to: revision });
    } else {
      changes.push({ kind: 'update', from: present[0]!, to: revision });
    }
  } else {
    const restored = restoredRows(
      graph,
      [...current].filter((h) => h !== revision),
      downs,
    );
    if (restored.length === 0) {
      changes.push({ kind: 'delete', revision });
    } else {
      for (const d of restored.slice(0, -1)) changes.push({ kind: 'insert', revision: d });
      changes.push({ kind: 'update', from: revision, to: restored[restored.length - 1]! });
    }
  }
  return { heads: apply(heads, changes), changes };
}

/**
 * The prerequisites that become rows again when a revision is removed (Alembic's
 * _unmerge_to_revisions): those no other head still needs or, when there is no other head,
 * those that are not below another of them.
 */
function restoredRows(
  graph: RevisionGraph,
  otherHeads: readonly string[],
  downs: readonly string[],
): string[] {
  if (otherHeads.length > 0) {
    const needed = graph.ancestors(otherHeads);
    return downs.filter((d) => !needed.has(d));
  }
  return downs.filter((d) => !downs.some((o) => o !== d && graph.ancestors([o]).has(d)));
}

function apply(heads: readonly string[], changes: readonly RowChange[]): string[] {
  const next = new Set(heads);
  for (const change of changes) {
    if (change.kind === 'insert') next.add(change.revision);
    else if (change.kind === 'delete') next.delete(change.revision);
    else {
      next.delete(change.from);
      next.add(change.to);
    }
  }
  return [...next].sort();
}
