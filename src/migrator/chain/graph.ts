import { readFileSync } from 'node:fs';
import { RevisorError } from '../errors/errors.js';
import type { Migration } from './migration.js';

/**
 * The revision graph: nodes are revisions, edges run from a revision to its
 * down_revisions. Several bases, branches (a revision with several children), merges
 * (several down_revisions) and several heads are all allowed, as in Alembic.
 */
export class RevisionGraph {
  readonly #byId: ReadonlyMap<string, Migration>;
  readonly #children: ReadonlyMap<string, readonly string[]>;
  readonly heads: readonly string[];
  readonly bases: readonly string[];

  private constructor(byId: Map<string, Migration>) {
    this.#byId = byId;
    const children = new Map<string, string[]>();
    for (const id of byId.keys()) children.set(id, []);
    for (const m of byId.values()) for (const down of m.downRevisions) children.get(down)!.push(m.revision);
    for (const list of children.values()) list.sort();
    this.#children = children;
    this.heads = [...byId.keys()].filter((id) => children.get(id)!.length === 0).sort();
    this.bases = [...byId.values()]
      .filter((m) => m.downRevisions.length === 0)
      .map((m) => m.revision)
      .sort();
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
    }
    const cycle = findCycle(byId);
    if (cycle) {
      const first = byId.get(cycle[0]!)!;
      throw new RevisorError(
        'MigrationLoadError',
        `${where(first, first.revision)}: the down_revision links form a cycle: ${cycle.join(' -> ')}`,
        { cycle },
      );
    }
    return new RevisionGraph(byId);
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

  ids(): IterableIterator<string> {
    return this.#byId.keys();
  }

  children(id: string): readonly string[] {
    return this.#children.get(id) ?? [];
  }

  /** The given revisions and everything below them. */
  ancestors(ids: Iterable<string>): Set<string> {
    return this.#walk(ids, (id) => this.get(id).downRevisions);
  }

  /** The given revisions and everything above them. */
  descendants(ids: Iterable<string>): Set<string> {
    return this.#walk(ids, (id) => this.children(id));
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
   * Revisions of `subset` in dependency order (every revision after its down
   * revisions), depth-first from `roots` so a branch's revisions stay together.
   */
  orderUp(subset: ReadonlySet<string>, roots: readonly string[]): string[] {
    const order: string[] = [];
    const done = new Set<string>();
    // An explicit stack rather than recursion: a chain is as deep as it is long, and
    // a recursive visit overflows the call stack at a few thousand revisions.
    const visit = (root: string) => {
      if (done.has(root) || !subset.has(root)) return;
      done.add(root);
      const stack: { id: string; next: number }[] = [{ id: root, next: 0 }];
      while (stack.length > 0) {
        const frame = stack[stack.length - 1]!;
        const downs = this.get(frame.id).downRevisions;
        if (frame.next < downs.length) {
          const down = downs[frame.next++]!;
          if (!done.has(down) && subset.has(down)) {
            done.add(down);
            stack.push({ id: down, next: 0 });
          }
          continue;
        }
        stack.pop();
        order.push(frame.id);
      }
    };
    for (const root of [...roots].sort()) visit(root);
    for (const id of [...subset].sort()) visit(id);
    return order;
  }

  /** All revisions from the bases up, for `history`. */
  ordered(): string[] {
    return this.orderUp(new Set(this.#byId.keys()), this.heads);
  }
}

/** A cycle of down_revision links, found by an iterative depth-first search. */
function findCycle(byId: ReadonlyMap<string, Migration>): string[] | null {
  const state = new Map<string, 'open' | 'done'>();
  for (const start of [...byId.keys()].sort()) {
    if (state.has(start)) continue;
    state.set(start, 'open');
    const path: { id: string; next: number }[] = [{ id: start, next: 0 }];
    while (path.length > 0) {
      const frame = path[path.length - 1]!;
      const downs = byId.get(frame.id)!.downRevisions;
      if (frame.next >= downs.length) {
        state.set(frame.id, 'done');
        path.pop();
        continue;
      }
      const down = downs[frame.next++]!;
      const s = state.get(down);
      if (s === 'open') {
        const ids = path.map((f) => f.id);
        return [...ids.slice(ids.indexOf(down)), down];
      }
      if (s === undefined) {
        state.set(down, 'open');
        path.push({ id: down, next: 0 });
      }
    }
  }
  return null;
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
