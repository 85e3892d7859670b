import { build } from './build.js';
import type { Catalog, Column, Constraint, EnumType, Sequence, Table, View } from './catalog.js';
import { qualifiedName } from './catalog.js';
import type { Change } from './changes.js';
import { enumChanges } from './diff-enums.js';
import { applyRenames, type Renames } from './renames.js';

const key = qualifiedName;
const byKey = <T extends { schema: string; name: string }>(list: readonly T[]) =>
  new Map(list.map((o) => [key(o), o]));
const byName = <T extends { name: string }>(list: readonly T[]) => new Map(list.map((o) => [o.name, o]));

/**
 * The changes that turn a database whose catalog is `from` into one whose catalog is `to`,
 * in an order PostgreSQL accepts: what depends on a thing is dropped before it and created
 * after it (views before the tables they read, foreign keys before the tables they name,
 * enums and sequences before the columns that use them). Pure: the same catalogs give the
 * same changes. `diff(to, from)` is the way back.
 */
export function diff(fromCatalog: Catalog, to: Catalog, renames: Renames = {}): Change[] {
  const { catalog: from, changes: renaming } = applyRenames(fromCatalog, renames);
  const fromTables = byKey(from.tables);
  const toTables = byKey(to.tables);
  const early: Change[] = [...renaming];
  const drops: Change[] = [];
  const creates: Change[] = [];
  const late: Change[] = [];

  const changedTables = new Set<string>();
  for (const [k, t] of toTables) {
    const old = fromTables.get(k);
    if (old && columnsChanged(old, t)) changedTables.add(k);
  }

  // Views: dropped (dependents first) when gone, redefined, or reading a table whose columns change.
  const fromViews = byKey(from.views);
  const toViews = byKey(to.views);
  const viewStale = (v: View) => {
    const next = toViews.get(key(v));
    return (
      !next ||
      next.definition !== v.definition ||
      next.materialized !== v.materialized ||
      v.reads.some((r) => changedTables.has(r) || (!toTables.has(r) && fromTables.has(r)))
    );
  };
  const staleViews = new Set([...fromViews.values()].filter(viewStale).map(key));
  // A view reading a stale view is stale too.
  for (let grew = true; grew; ) {
    grew = false;
    for (const v of fromViews.values()) {
      if (!staleViews.has(key(v)) && v.reads.some((r) => staleViews.has(r))) {
        staleViews.add(key(v));
        grew = true;
      }
    }
  }
  for (const v of viewOrder([...fromViews.values()].filter((v) => staleViews.has(key(v)))).reverse())
    drops.push(build.dropView(v));

  // Constraints and indexes that go or change: foreign keys first, so no table is held by one.
  const constraintsGone = (old: Table, next: Table | undefined) => {
    const now = next ? byName(next.constraints) : new Map<string, Constraint>();
    return old.constraints.filter((c) => now.get(c.name)?.definition !== c.definition);
  };
  const keysReplaced = new Set<string>();
  for (const old of fromTables.values()) {
    const next = toTables.get(key(old));
    if (next && constraintsGone(old, next).some((c) => c.kind === 'primary key' || c.kind === 'unique'))
      keysReplaced.add(key(old));
  }
  const fkDropped = new Set<string>();
  for (const old of fromTables.values()) {
    const next = toTables.get(key(old));
    const gone = new Set(constraintsGone(old, next).map((c) => c.name));
    for (const c of old.constraints.filter((c) => c.kind === 'foreign key')) {
      // A foreign key on a key being replaced must go first, and comes back after.
      if (gone.has(c.name) || (c.references !== null && keysReplaced.has(c.references))) {
        drops.push(build.dropConstraint(old, c));
        fkDropped.add(`${key(old)}.${c.name}`);
      }
    }
  }
  for (const old of fromTables.values()) {
    const next = toTables.get(key(old));
    if (!next) continue;
    for (const c of constraintsGone(old, next))
      if (c.kind !== 'foreign key') drops.push(build.dropConstraint(old, c));
    const nowIndexes = byName(next.indexes);
    for (const i of old.indexes)
      if (nowIndexes.get(i.name)?.definition !== i.definition)
        drops.push(build.dropIndex(old.schema, i.name));
  }

  // Tables and columns that go.
  const gone = [...fromTables.values()].filter((t) => !toTables.has(key(t)));
  const added = [...toTables.values()].filter((t) => !fromTables.has(key(t)));
  for (const t of gone) drops.push(build.dropTable(t, renameHint(t, added)));
  const droppedColumns = new Set<string>();
  for (const [k, next] of toTables) {
    const old = fromTables.get(k);
    if (!old) continue;
    const nowColumns = byName(next.columns);
    const newColumns = next.columns.filter((c) => !old.columns.some((o) => o.name === c.name));
    for (const col of old.columns) {
      const now = nowColumns.get(col.name);
      if (!now || (now.generated ?? '') !== (col.generated ?? '')) {
        drops.push(build.dropColumn(old, col, now ? undefined : columnRenameHint(old, col, newColumns)));
        droppedColumns.add(`${k}.${col.name}`);
      }
    }
  }

  // What comes first on the way up: schemas, extensions, enums, sequences.
  const fromSchemas = new Set(from.schemas);
  const toSchemas = new Set(to.schemas);
  for (const s of to.schemas) if (!fromSchemas.has(s)) early.push(build.createSchema(s));
  const fromExtensions = new Set(from.extensions.map((e) => e.name));
  const toExtensions = new Set(to.extensions.map((e) => e.name));
  for (const e of to.extensions)
    if (!fromExtensions.has(e.name)) early.push(build.createExtension(e.name, e.schema));
  const enums = enumChanges(from.enums, to.enums, from.tables);
  early.push(...enums.early);
  const fromSequences = byKey(from.sequences);
  const toSequences = byKey(to.sequences);
  for (const s of toSequences.values()) {
    const old = fromSequences.get(key(s));
    if (!old) early.push(build.createSequence(s));
    else if (sequenceParams(old) !== sequenceParams(s)) early.push(build.alterSequence(s));
  }

  // Tables and columns that come or change.
  for (const t of added) creates.push(build.createTable(t));
  for (const [k, next] of toTables) {
    const old = fromTables.get(k);
    if (!old) continue;
    const was = byName(old.columns);
    for (const col of next.columns) {
      const before = was.get(col.name);
      if (!before || droppedColumns.has(`${k}.${col.name}`)) creates.push(build.addColumn(next, col));
      else creates.push(...columnChanges(next, before, col));
    }
    if ((old.comment ?? null) !== (next.comment ?? null))
      late.push(build.comment('TABLE', build.tableTarget(next), next.comment));
  }
  for (const t of to.tables) {
    const old = fromTables.get(key(t));
    for (const col of t.columns) {
      const before = old?.columns.find((c) => c.name === col.name);
      if ((before?.comment ?? null) !== col.comment)
        late.push(build.comment('COLUMN', build.columnTarget(t, col.name), col.comment));
    }
    if (!old && t.comment !== null) late.push(build.comment('TABLE', build.tableTarget(t), t.comment));
  }
  for (const s of toSequences.values()) {
    const old = fromSequences.get(key(s));
    if ((old?.ownedBy ?? null) !== s.ownedBy) creates.push(build.ownSequence(s));
  }

  // Constraints and indexes that come back or are new: keys, then indexes, then foreign keys.
  const foreignKeys: Change[] = [];
  for (const t of toTables.values()) {
    const old = fromTables.get(key(t));
    const was = old ? byName(old.constraints) : new Map<string, Constraint>();
    for (const c of t.constraints) {
      const again = was.get(c.name)?.definition !== c.definition || fkDropped.has(`${key(t)}.${c.name}`);
      if (!again) continue;
      (c.kind === 'foreign key' ? foreignKeys : creates).push(build.addConstraint(t, c));
    }
    const wasIndexes = old ? byName(old.indexes) : new Map<string, { definition: string }>();
    for (const i of t.indexes)
      if (wasIndexes.get(i.name)?.definition !== i.definition)
        creates.push(build.createIndex(t, i.definition, i.name));
  }
  creates.push(...foreignKeys);

  // Views, readers after what they read; then comments.
  for (const v of viewOrder(
    [...toViews.values()].filter((v) => !fromViews.has(key(v)) || staleViews.has(key(v))),
  ))
    creates.push(build.createView(v));
  for (const v of toViews.values()) {
    const old = fromViews.get(key(v));
    const recreated = !old || staleViews.has(key(v));
    if ((recreated ? null : old.comment) !== v.comment) {
      late.push(
        build.comment(v.materialized ? 'MATERIALIZED VIEW' : 'VIEW', build.tableTarget(v), v.comment),
      );
    }
  }

  // What goes last on the way down: sequences, enums, extensions, schemas.
  const ownerGone = (s: Sequence) => {
    if (!s.ownedBy) return false;
    const [table, col] = s.ownedBy.split('.');
    const k = `${s.schema}.${table}`;
    return !toTables.has(k) || droppedColumns.has(`${k}.${col}`);
  };
  for (const s of fromSequences.values())
    if (!toSequences.has(key(s)) && !ownerGone(s)) late.push(build.dropSequence(s));
  late.push(...enums.late);
  for (const e of from.extensions) if (!toExtensions.has(e.name)) late.push(build.dropExtension(e.name));
  for (const s of from.schemas) if (!toSchemas.has(s)) late.push(build.dropSchema(s));

  return [...drops, ...early, ...creates, ...late];
}

function columnsChanged(old: Table, next: Table): boolean {
  const now = byName(next.columns);
  return old.columns.some((c) => {
    const n = now.get(c.name);
    return !n || n.type !== c.type || n.collation !== c.collation || n.generated !== c.generated;
  });
}

function sequenceParams(s: Sequence): string {
  return [s.type, s.start, s.increment, s.min, s.max, s.cache, s.cycle].join(' ');
}

/** Type, collation, identity, nullability and default changes of one column, in an order PostgreSQL accepts. */
function columnChanges(t: Table, before: Column, after: Column): Change[] {
  const out: Change[] = [];
  const where = `${key(t)}.${after.name}`;
  const typeChanged = before.type !== after.type;
  if (typeChanged) {
    // The old default may not cast to the new type: it goes first and is set again after.
    if (before.default !== null)
      out.push(build.alterColumn(t, after.name, { serverDefault: null }, `drop default of ${where}`));
    out.push(
      build.alterColumn(
        t,
        after.name,
        { type: { $type: after.type }, using: `${quoteIdent(after.name)}::${after.type}` },
        `type of ${where}: ${before.type} -> ${after.type}`,
        {
          review: `${where} changes type from ${before.type} to ${after.type}: check that every value converts, and that the rewrite is acceptable on a large table`,
        },
      ),
    );
  }
  if (before.collation !== after.collation) out.push(build.columnCollation(t, after));
  // An identity needs NOT NULL first, and holds it until the identity is gone.
  const identity =
    before.identity === after.identity
      ? []
      : [build.columnIdentity(t, after.name, before.identity, after.identity)];
  const nullability =
    before.notNull === after.notNull
      ? []
      : [
          build.alterColumn(
            t,
            after.name,
            { nullable: !after.notNull },
            `${where} ${after.notNull ? 'NOT NULL' : 'nullable'}`,
          ),
        ];
  out.push(...(after.identity === null ? [...identity, ...nullability] : [...nullability, ...identity]));
  if (before.default !== after.default || (typeChanged && after.default !== null)) {
    out.push(
      build.alterColumn(
        t,
        after.name,
        { serverDefault: after.default === null ? null : { $sql: after.default } },
        `default of ${where}: ${after.default ?? 'none'}`,
      ),
    );
  }
  return out;
}

const quoteIdent = (name: string) => `"${name.replaceAll('"', '""')}"`;

/** A dropped table with the same columns as an added one is probably a rename. */
function renameHint(t: Table, added: readonly Table[]): string | undefined {
  const shape = (x: Table) =>
    x.columns
      .map((c) => `${c.name} ${c.type}`)
      .sort()
      .join(',');
  const twin = added.find((a) => a.schema === t.schema && shape(a) === shape(t));
  return twin
    ? `${key(t)} and the new ${key(twin)} have the same columns: if it is a rename, pass --rename ${t.name}:${twin.name}`
    : undefined;
}

function columnRenameHint(t: Table, col: Column, added: readonly Column[]): string | undefined {
  const twin = added.find((a) => a.type === col.type);
  return twin
    ? `${key(t)}.${col.name} goes and ${twin.name} (${twin.type}) comes: if it is a rename, pass --rename ${t.name}.${col.name}:${twin.name}`
    : undefined;
}

/** Views with the ones they read first. */
function viewOrder(views: readonly View[]): View[] {
  const within = new Map(views.map((v) => [key(v), v]));
  const done = new Set<string>();
  const out: View[] = [];
  const visit = (v: View, path: Set<string>) => {
    if (done.has(key(v)) || path.has(key(v))) return;
    path.add(key(v));
    for (const r of v.reads) {
      const dep = within.get(r);
      if (dep) visit(dep, path);
    }
    done.add(key(v));
    out.push(v);
  };
  for (const v of [...views].sort((a, b) => key(a).localeCompare(key(b)))) visit(v, new Set());
  return out;
}

export type { EnumType };
