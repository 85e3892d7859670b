/**
 * A normalized catalog snapshot: what the diff engine compares. Plain data (JSON as it
 * stands), with every definition in PostgreSQL's own canonical text (format_type,
 * pg_get_expr, pg_get_constraintdef, pg_get_indexdef, pg_get_viewdef), so two databases
 * built the same way compare equal and a definition can be re-created exactly.
 */
export interface Catalog {
  readonly schemas: readonly string[];
  readonly extensions: readonly Extension[];
  readonly enums: readonly EnumType[];
  readonly sequences: readonly Sequence[];
  readonly tables: readonly Table[];
  readonly views: readonly View[];
}

export interface Extension {
  readonly name: string;
  readonly schema: string;
}

export interface EnumType {
  readonly schema: string;
  readonly name: string;
  readonly labels: readonly string[];
}

export interface Sequence {
  readonly schema: string;
  readonly name: string;
  readonly type: string;
  readonly start: string;
  readonly increment: string;
  readonly min: string;
  readonly max: string;
  readonly cache: string;
  readonly cycle: boolean;
  /** `table.column` of the same schema for a serial column's sequence. */
  readonly ownedBy: string | null;
}

export interface Column {
  readonly name: string;
  /** format_type: `character varying(50)`, `timestamp with time zone`, `public.mood`, … */
  readonly type: string;
  readonly notNull: boolean;
  readonly default: string | null;
  readonly identity: 'always' | 'by default' | null;
  /** The expression of a stored generated column. */
  readonly generated: string | null;
  readonly collation: string | null;
  readonly comment: string | null;
}

export type ConstraintKind = 'primary key' | 'unique' | 'foreign key' | 'check' | 'exclusion';

export interface Constraint {
  readonly name: string;
  readonly kind: ConstraintKind;
  /** pg_get_constraintdef: `FOREIGN KEY (owner_id) REFERENCES users(id) ON DELETE CASCADE`. */
  readonly definition: string;
  /** For a foreign key: the referenced table, `schema.table`. */
  readonly references: string | null;
}

export interface Index {
  readonly name: string;
  /** pg_get_indexdef: the whole CREATE INDEX statement. */
  readonly definition: string;
}

export interface Table {
  readonly schema: string;
  readonly name: string;
  /** In column order. */
  readonly columns: readonly Column[];
  readonly constraints: readonly Constraint[];
  /** Indexes that no constraint owns. */
  readonly indexes: readonly Index[];
  readonly comment: string | null;
}

export interface View {
  readonly schema: string;
  readonly name: string;
  readonly materialized: boolean;
  readonly definition: string;
  /** Relations (`schema.name`) the view reads: it is created after and dropped before them. */
  readonly reads: readonly string[];
  readonly comment: string | null;
}

export const emptyCatalog: Catalog = Object.freeze({
  schemas: ['public'],
  extensions: [],
  enums: [],
  sequences: [],
  tables: [],
  views: [],
});

export const qualifiedName = (o: { schema: string; name: string }) => `${o.schema}.${o.name}`;

/**
 * One sorted line per fact, for equality, fingerprints and readable differences. Column
 * order is left out, as Alembic leaves it out: a column added by a migration always goes
 * last, so the order records history, not design.
 */
export function catalogLines(c: Catalog): string[] {
  const lines: string[] = [];
  for (const s of c.schemas) lines.push(`schema ${s}`);
  for (const e of c.extensions) lines.push(`extension ${e.name} in ${e.schema}`);
  for (const e of c.enums)
    lines.push(`enum ${qualifiedName(e)} (${e.labels.map((l) => JSON.stringify(l)).join(', ')})`);
  for (const s of c.sequences) {
    lines.push(
      `sequence ${qualifiedName(s)} ${s.type} start ${s.start} increment ${s.increment} min ${s.min} max ${s.max} ` +
        `cache ${s.cache}${s.cycle ? ' cycle' : ''}${s.ownedBy ? ` owned by ${s.ownedBy}` : ''}`,
    );
  }
  for (const t of c.tables) {
    const name = qualifiedName(t);
    lines.push(`table ${name}${t.comment === null ? '' : ` comment ${JSON.stringify(t.comment)}`}`);
    for (const col of t.columns) lines.push(`column ${name}.${col.name} ${columnText(col)}`);
    for (const con of t.constraints) lines.push(`constraint ${name}.${con.name} ${con.definition}`);
    for (const i of t.indexes) lines.push(`index ${t.schema}.${i.name} ${i.definition}`);
  }
  for (const v of c.views) {
    lines.push(
      `${v.materialized ? 'materialized view' : 'view'} ${qualifiedName(v)} ${JSON.stringify(v.definition)}` +
        `${v.comment === null ? '' : ` comment ${JSON.stringify(v.comment)}`}`,
    );
  }
  return lines.sort();
}

export function columnText(col: Column): string {
  return [
    col.type,
    col.collation ? `COLLATE ${col.collation}` : '',
    col.generated ? `GENERATED ALWAYS AS (${col.generated}) STORED` : '',
    col.identity ? `GENERATED ${col.identity.toUpperCase()} AS IDENTITY` : '',
    col.default === null ? '' : `DEFAULT ${col.default}`,
    col.notNull ? 'NOT NULL' : '',
    col.comment === null ? '' : `comment ${JSON.stringify(col.comment)}`,
  ]
    .filter((p) => p !== '')
    .join(' ');
}

/** Lines only in `from` (-) and only in `to` (+), sorted by what they describe. */
export function catalogDifferences(from: Catalog, to: Catalog): string[] {
  return lineDifferences(catalogLines(from), catalogLines(to));
}

/** Lines only in `before` (-) and only in `after` (+), sorted by what they describe. */
export function lineDifferences(before: readonly string[], after: readonly string[]): string[] {
  const a = new Set(before);
  const b = new Set(after);
  return [
    ...before.filter((l) => !b.has(l)).map((l) => `- ${l}`),
    ...after.filter((l) => !a.has(l)).map((l) => `+ ${l}`),
  ].sort((x, y) => x.slice(2).localeCompare(y.slice(2)) || x.localeCompare(y));
}
