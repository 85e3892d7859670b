import { RevisorError } from '../errors/errors.js';

/** What ordering needs of the graph (kept narrow so the graph module can hand itself over). */
export interface OrderSource {
  get(id: string): { readonly downRevisions: readonly string[] };
  prerequisites(id: string): readonly string[];
  dependencies(id: string): readonly string[];
  ancestors(ids: Iterable<string>): Set<string>;
  position(id: string): number;
}

/**
 * Alembic's topological sort (RevisionMap._topological_sort), which decides the order of
 * independent branches in one run: walk down from the top revisions, sorted by load order,
 * one branch as far as it goes, switching to another top only when that one needs the
 * revision at hand first. Following it exactly means a run that fails part-way leaves the
 * same revisions applied as Alembic would. Its output is top-down; an upgrade reverses it.
 */
export function topologicalOrder(
  graph: OrderSource,
  subset: ReadonlySet<string>,
  tops: readonly string[],
): string[] {
  const todo = new Set(subset);
  const current = [...new Set(tops.filter((t) => todo.has(t)))].sort(
    (a, b) => graph.position(a) - graph.position(b),
  );
  const below = current.map((t) => graph.ancestors([t]));
  const out: string[] = [];
  let at = 0;
  while (current.length > 0) {
    const candidate = current[at]!;
    const waitingOn = below.findIndex((set, i) => i !== at && set.has(candidate));
    if (waitingOn !== -1) {
      // Another top needs this revision: finish that one's walk first.
      at = waitingOn;
      continue;
    }
    if (todo.delete(candidate)) out.push(candidate);
    const next = graph.prerequisites(candidate).filter((r) => todo.has(r) && !current.includes(r));
    if (next.length === 0) {
      current.splice(at, 1);
      below.splice(at, 1);
      at = Math.max(at - 1, 0);
    } else if (
      graph.dependencies(candidate).length === 0 &&
      graph.get(candidate).downRevisions.length === 1
    ) {
      current[at] = next[0]!;
      below[at]!.delete(candidate);
    } else {
      current[at] = next[0]!;
      below[at] = graph.ancestors([next[0]!]);
      for (const more of next.slice(1)) {
        current.push(more);
        below.push(graph.ancestors([more]));
      }
    }
  }
  if (todo.size > 0) {
    // Every caller passes a subset closed under "needed by a top"; anything left is a bug.
    throw new RevisorError(
      'Unexpected',
      `revisions ${[...todo].join(', ')} are not below ${tops.join(', ')}`,
    );
  }
  return out;
}

/** A cycle of prerequisite links, found by an iterative depth-first search (chains are deep). */
export function findCycle(ids: Iterable<string>, next: (id: string) => readonly string[]): string[] | null {
  const state = new Map<string, 'open' | 'done'>();
  for (const start of [...ids].sort()) {
    if (state.has(start)) continue;
    state.set(start, 'open');
    const path: { id: string; next: number; downs: readonly string[] }[] = [
      { id: start, next: 0, downs: next(start) },
    ];
    while (path.length > 0) {
      const frame = path[path.length - 1]!;
      if (frame.next >= frame.downs.length) {
        state.set(frame.id, 'done');
        path.pop();
        continue;
      }
      const down = frame.downs[frame.next++]!;
      const s = state.get(down);
      if (s === 'open') {
        const trail = path.map((f) => f.id);
        return [...trail.slice(trail.indexOf(down)), down];
      }
      if (s === undefined) {
        state.set(down, 'open');
        path.push({ id: down, next: 0, downs: next(down) });
      }
    }
  }
  return null;
}
