import { readFileSync } from 'node:fs';
import { RevisorError } from '../errors/errors.js';
import { inheritedLabels } from './branch-labels.js';
import { findCycle, topologicalOrder } from './graph-order.js';
import type { Migration } from './migration.js';

/**
 * The revision graph, with Alembic's model: edges run from a revision to its down
 * revisions, and from it to its dependencies (depends_on), which must be applied first but
 * never become version-table rows of their own. Several bases, branches, merges, heads and
 * branch labels are allowed. Revisions keep the order they were loaded in, because
 * Alembic orders independent branches by it.
 */
export class RevisionGraph {
  readonly #byId: ReadonlyMap<string, Migration>;
  readonly #position: ReadonlyMap<string, number>;
  /** Resolved dependencies, minus those an ancestor already depends on (Alembic's normalization). */
  readonly #dependencies: ReadonlyMap<string, readonly string[]>;
  readonly #children: ReadonlyMap<string, readonly string[]>;
  readonly #dependents: ReadonlyMap<string, readonly string[]>;
  readonly #labelOwner: ReadonlyMap<string, string>;
  readonly #labels: ReadonlyMap<string, readonly string[]>;
  /** Revisions nothing builds on, by down revision or dependency: what `heads` names. */
  readonly heads: readonly string[];
  /** Revisions no revision names as a down revision (Alembic's `heads`): what `head` must be one of. */
  readonly versionedHeads: readonly string[];
  readonly bases: readonly string[];

  private constructor(
    byId: Map<string, Migration>,
    resolved: Map<string, string[]>,
    owners: Map<string, string>,
  ) {
    this.#byId = byId;
    this.#position = new Map([...byId.keys()].map((id, i) => [id, i]));
    this.#labelOwner = owners;
    const children = new Map<string, string[]>();
    const dependents = new Map<string, string[]>();
    for (const id of byId.keys()) {
      children.set(id, []);
      dependents.set(id, []);
    }
    for (const m of byId.values()) {
      for (const down of m.downRevisions) children.get(down)!.push(m.revision);
      for (const dep of resolved.get(m.revision)!) dependents.get(dep)!.push(m.revision);
    }
    for (const list of [...children.values(), ...dependents.values()]) list.sort();
    this.#children = children;
    this.#dependents = dependents;
    this.#dependencies = normalizeDependencies(this, resolved);
    this.versionedHeads = [...byId.keys()].filter((id) => children.get(id)!.length === 0).sort();
    this.heads = this.versionedHeads.filter((id) => dependents.get(id)!.length === 0);
    this.bases = [...byId.values()]
      .filter((m) => m.downRevisions.length === 0)
      .map((m) => m.revision)
      .sort();
    this.#labels = inheritedLabels(this);
  }

  static build(migrations: readonly Migration[]): RevisionGraph {
    const byId = new Map<string, Migration>();
    for (const m of migrations) {
      const previous = byId.get(m.revision);
      if (previous) {
        throw new RevisorError(
          'MigrationLoadError',
          `${where(m, m.revision)}: duplicate revision id ${m.revision} (also in ${where(previous, m.revision)})`,
          { revision: m.revision, files: [previous.source, m.source] },
        );
      }
      byId.set(m.revision, m);
    }
    const owners = new Map<string, string>();
    for (const m of migrations) {
      for (const label of m.branchLabels) {
        const taken = owners.get(label) ?? (byId.has(label) ? label : undefined);
        if (taken !== undefined) {
          throw new RevisorError(
            'MigrationLoadError',
            `${m.source}: branch label "${label}" of revision ${m.revision} is already used by revision ${taken}`,
            { revision: m.revision, label },
          );
        }
        owners.set(label, m.revision);
      }
    }
    const resolved = new Map<string, string[]>();
    for (const m of migrations) {
      for (const down of m.downRevisions) {
        if (!byId.has(down)) {
          throw new RevisorError(
            'MigrationLoadError',
            `${where(m, down)}: revision ${m.revision} has unknown down_revision ${down}`,
            { revision: m.revision, downRevision: down, file: m.source },
          );
        }
      }
      // Alembic resolves depends_on by exact revision id or branch label, never by prefix.
      const deps = m.dependsOn.map((dep) => {
        const id = byId.has(dep) ? dep : owners.get(dep);
        if (id === undefined) {
          throw new RevisorError(
            'MigrationLoadError',
            `${m.source}: revision ${m.revision} depends on ${dep}, which is neither a revision nor a branch label`,
            { revision: m.revision, dependsOn: dep, file: m.source },
          );
        }
        if (id === m.revision) {
          throw new RevisorError(
            'MigrationLoadError',
            `${m.source}: revision ${m.revision} depends on itself`,
            {
              revision: m.revision,
            },
          );
        }
        return id;
      });
      resolved.set(m.revision, [...new Set(deps.filter((d) => !m.downRevisions.includes(d)))]);
    }
    const cycle = findCycle(byId.keys(), (id) => [...byId.get(id)!.downRevisions, ...resolved.get(id)!]);
    if (cycle) {
      const first = byId.get(cycle[0]!)!;
      throw new RevisorError(
        'MigrationLoadError',
        `${where(first, first.revision)}: the down_revision and depends_on links form a cycle: ${cycle.join(' -> ')}`,
        { cycle },
      );
    }
    return new RevisionGraph(byId, resolved, owners);
  }

  get size(): number {
    return this.#byId.size;
  }

  has(id: string): boolean {
    return this.#byId.has(id);
  }

  get(id: string): Migration {
    const m = this.#byId.get(id);
    if (!m)
      throw new RevisorError('RevisionNotFound', `no revision ${id} in the migrations`, { revision: id });
    return m;
  }

  /** In load order. */
  ids(): IterableIterator<string> {
    return this.#byId.keys();
  }

  /** Where a revision was loaded: Alembic's tie-break between independent branches. */
  position(id: string): number {
    return this.#position.get(id) ?? -1;
  }

  /** Revisions naming `id` as a down revision. */
  children(id: string): readonly string[] {
    return this.#children.get(id) ?? [];
  }

  /** Revisions naming `id` in depends_on. */
  dependents(id: string): readonly string[] {
    return this.#dependents.get(id) ?? [];
  }

  /** The dependencies that add to what the down revisions already bring. */
  dependencies(id: string): readonly string[] {
    return this.#dependencies.get(id) ?? [];
  }

  /** Down revisions, then dependencies: what must be applied before `id` (Alembic's _normalized_down_revisions). */
  prerequisites(id: string): readonly string[] {
    const deps = this.dependencies(id);
    const downs = this.get(id).downRevisions;
    return deps.length === 0 ? downs : [...downs, ...deps];
  }

  /** The labels `id` declares or inherits from the branch it is on. */
  labels(id: string): readonly string[] {
    return this.#labels.get(id) ?? [];
  }

  /** The revision that declares `label`, or undefined. */
  labelOwner(label: string): string | undefined {
    return this.#labelOwner.get(label);
  }

  /** The given revisions and everything they need: down revisions and dependencies. */
  ancestors(ids: Iterable<string>): Set<string> {
    return this.#walk(ids, (id) => this.prerequisites(id));
  }

  /** The given revisions and their down revisions, without dependencies (a branch's lineage). */
  lineageBelow(ids: Iterable<string>): Set<string> {
    return this.#walk(ids, (id) => this.get(id).downRevisions);
  }

  /** The given revisions and everything that needs them. */
  descendants(ids: Iterable<string>): Set<string> {
    return this.#walk(ids, (id) => [...this.children(id), ...this.dependents(id)]);
  }

  /** The given revisions and those above them by down revision only. */
  lineageAbove(ids: Iterable<string>): Set<string> {
    return this.#walk(ids, (id) => this.children(id));
  }

  /**
   * `id`'s lineage: it and what lies above or below it by down revision (no dependencies).
   * Symmetric: `b` is in `lineage(a)` exactly when `a` is in `lineage(b)`, so one set answers
   * "is it on this branch?" for every candidate.
   */
  lineage(id: string): Set<string> {
    const line = this.lineageBelow([id]);
    for (const up of this.lineageAbove([id])) line.add(up);
    return line;
  }

  #walk(start: Iterable<string>, next: (id: string) => readonly string[]): Set<string> {
    const seen = new Set<string>();
    const stack = [...start];
    while (stack.length > 0) {
      const id = stack.pop()!;
      if (seen.has(id)) continue;
      seen.add(id);
      for (const n of next(id)) stack.push(n);
    }
    return seen;
  }

  /**
   * Revisions of `subset` from the top down, as Alembic orders a run: depth-first from
   * `tops` (the targets of an upgrade, the current heads of a downgrade), one branch at a
   * time in load order, never before anything in `subset` that needs it.
   */
  topDown(subset: ReadonlySet<string>, tops: readonly string[]): string[] {
    return topologicalOrder(this, subset, tops);
  }

  /** Revisions of `subset` in the order an upgrade applies them (parents first). */
  orderUp(subset: ReadonlySet<string>, targets: readonly string[]): string[] {
    return this.topDown(subset, targets).reverse();
  }

  /** All revisions from the bases up, for `history`. */
  ordered(): string[] {
    return this.orderUp(new Set(this.#byId.keys()), this.heads);
  }
}

/**
 * Alembic's normalization of depends_on: a dependency that one of the revision's ancestors
 * (by down revision) also names is dropped, as that ancestor already brings it.
 */
function normalizeDependencies(
  graph: RevisionGraph,
  resolved: ReadonlyMap<string, readonly string[]>,
): Map<string, readonly string[]> {
  const normalized = new Map<string, readonly string[]>();
  for (const [id, deps] of resolved) {
    if (deps.length === 0) continue;
    const keep = new Set(deps);
    for (const ancestor of graph.lineageBelow([id])) {
      if (ancestor !== id) for (const d of resolved.get(ancestor)!) keep.delete(d);
    }
    if (keep.size > 0) normalized.set(id, [...keep].sort());
  }
  return normalized;
}

/** file:line of the header or source line naming `id`, for load errors. */
function where(m: Migration, id: string): string {
  const header = (m as { headerLines?: { revision: number; downRevision: number } }).headerLines;
  if (header) return `${m.source}:${id === m.revision ? header.revision : header.downRevision}`;
  try {
    const lines = readFileSync(m.source, 'utf8').split('\n');
    const index = lines.findIndex((l) => l.includes(`'${id}'`) || l.includes(`"${id}"`));
    if (index !== -1) return `${m.source}:${index + 1}`;
  } catch {
    // The module's text is not readable (an embedded build); the file name still locates it.
  }
  return m.source;
}
