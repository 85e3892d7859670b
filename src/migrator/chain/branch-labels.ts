/** What label inheritance needs of the graph. */
export interface LabelSource {
  ids(): IterableIterator<string>;
  get(id: string): { readonly downRevisions: readonly string[]; readonly branchLabels: readonly string[] };
  children(id: string): readonly string[];
  dependents(id: string): readonly string[];
  lineageBelow(ids: Iterable<string>): Set<string>;
  lineageAbove(ids: Iterable<string>): Set<string>;
}

/**
 * The labels each revision carries, by Alembic's rule (RevisionMap._add_branches): a
 * label covers the revision that declares it and everything above it by down revision,
 * and, when that part is one straight line, also the revisions below it down to the
 * nearest branch point or merge (a revision that starts a branch from a shared trunk
 * names the trunk segment that is only its own). Labelled revisions are visited bases
 * first, so a label declared above another inherits both.
 */
export function inheritedLabels(graph: LabelSource): Map<string, readonly string[]> {
  const labels = new Map<string, Set<string>>();
  const add = (id: string, names: Iterable<string>) => {
    const set = labels.get(id) ?? new Set<string>();
    labels.set(id, set);
    for (const n of names) set.add(n);
  };
  const declaring = [...graph.ids()].filter((id) => graph.get(id).branchLabels.length > 0);
  // Bases first: a revision has fewer revisions below it than any revision above it.
  const depth = new Map(declaring.map((id) => [id, graph.lineageBelow([id]).size]));
  declaring.sort((a, b) => depth.get(a)! - depth.get(b)!);
  const forks = (id: string) =>
    graph.children(id).length + graph.dependents(id).length > 1 || graph.get(id).downRevisions.length > 1;
  for (const owner of declaring) {
    add(owner, graph.get(owner).branchLabels);
    const names = [...labels.get(owner)!];
    const above = graph.lineageAbove([owner]);
    for (const id of above) add(id, names);
    // Alembic walks down from the top of the labelled part; any fork in that part stops the walk above `owner`.
    if ([...above].some(forks)) continue;
    let down = graph.get(owner).downRevisions[0];
    while (down !== undefined && !forks(down)) {
      add(down, names);
      down = graph.get(down).downRevisions[0];
    }
  }
  return new Map([...labels].map(([id, set]) => [id, [...set].sort()]));
}
