import type { Queryable } from '../pg/db.js';
import type { Tables } from '../sql/bookkeeping.js';
import { stashSchema } from '../sql/stash-sql.js';
import type { Catalog, Column, ConstraintKind, Sequence, Table, View } from './catalog.js';

export interface CatalogScope {
  /** The schemas to read; all user schemas when empty or absent. */
  readonly schemas?: readonly string[];
  /** revisor's own tables (and whatever is named after them) are left out. */
  readonly tables: Tables;
}

// $1: the schemas in scope (null: every user schema); $2, $3: the version and history
// table names, whose tables (and anything named <table>_…) are revisor's, not the app's.
const inScope = (nsp: string) =>
  `${nsp}.nspname NOT IN ('pg_catalog', 'information_schema', '${stashSchema}') AND ${nsp}.nspname NOT LIKE 'pg\\_%' ` +
  `AND ($1::text[] IS NULL OR ${nsp}.nspname = ANY ($1::text[]))`;
const notOurs = (rel: string) =>
  `NOT (${rel} = ANY (ARRAY[$2::text, $3::text]) OR ${rel} LIKE $2 || '\\_%' OR ${rel} LIKE $3 || '\\_%')`;
/**
 * Not created by an extension: those come and go with the extension. (classid first, so
 * pg_depend's index serves the lookup instead of a scan per row.)
 */
const notFromExtension = (oid: string, catalog: 'pg_class' | 'pg_type') =>
  `NOT EXISTS (SELECT 1 FROM pg_depend x WHERE x.classid = '${catalog}'::regclass AND x.objid = ${oid} AND x.deptype = 'e')`;

const queries = {
  schemas: `SELECT n.nspname AS name FROM pg_namespace n WHERE ${inScope('n')} ORDER BY 1`,
  extensions: `SELECT e.extname AS name, n.nspname AS schema FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
                WHERE e.extname <> 'plpgsql' ORDER BY 1`,
  enums: `SELECT n.nspname AS schema, t.typname AS name, array_agg(e.enumlabel::text ORDER BY e.enumsortorder) AS labels
            FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace JOIN pg_enum e ON e.enumtypid = t.oid
           WHERE ${inScope('n')} AND ${notFromExtension('t.oid', 'pg_type')} GROUP BY 1, 2 ORDER BY 1, 2`,
  sequences: `SELECT n.nspname AS schema, c.relname AS name, format_type(s.seqtypid, NULL) AS type,
                     s.seqstart::text AS start, s.seqincrement::text AS increment, s.seqmin::text AS min,
                     s.seqmax::text AS max, s.seqcache::text AS cache, s.seqcycle AS cycle,
                     (SELECT tc.relname || '.' || a.attname FROM pg_depend d
                        JOIN pg_class tc ON tc.oid = d.refobjid
                        JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
                       WHERE d.objid = c.oid AND d.classid = 'pg_class'::regclass AND d.deptype = 'a') AS "ownedBy"
                FROM pg_sequence s JOIN pg_class c ON c.oid = s.seqrelid JOIN pg_namespace n ON n.oid = c.relnamespace
               WHERE ${inScope('n')} AND ${notOurs('c.relname')} AND ${notFromExtension('c.oid', 'pg_class')}
                 AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'i')
               ORDER BY 1, 2`,
  // Comments by join, not obj_description()/col_description(): a function call per row costs
  // about 30 µs, which is most of the read on a schema of a few thousand columns.
  columns: `SELECT n.nspname AS schema, c.relname AS "table", td.description AS "tableComment",
                   a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type, a.attnotnull AS "notNull",
                   CASE WHEN a.attgenerated = '' THEN pg_get_expr(d.adbin, d.adrelid) END AS default,
                   CASE a.attidentity WHEN 'a' THEN 'always' WHEN 'd' THEN 'by default' END AS identity,
                   CASE WHEN a.attgenerated = 's' THEN pg_get_expr(d.adbin, d.adrelid) END AS generated,
                   CASE WHEN a.attcollation <> 0 AND a.attcollation <> t.typcollation THEN quote_ident(co.collname) END AS collation,
                   cd.description AS comment
              FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
              JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
              JOIN pg_type t ON t.oid = a.atttypid
              LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
              LEFT JOIN pg_collation co ON co.oid = a.attcollation
              LEFT JOIN pg_description td ON td.objoid = c.oid AND td.classoid = 'pg_class'::regclass AND td.objsubid = 0
              LEFT JOIN pg_description cd ON cd.objoid = c.oid AND cd.classoid = 'pg_class'::regclass AND cd.objsubid = a.attnum
             WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition AND ${inScope('n')} AND ${notOurs('c.relname')}
               AND ${notFromExtension('c.oid', 'pg_class')}
             ORDER BY 1, 2, a.attnum`,
  constraints: `SELECT n.nspname AS schema, c.relname AS "table", con.conname AS name, con.contype AS kind,
                       pg_get_constraintdef(con.oid) AS definition,
                       CASE WHEN con.contype = 'f' THEN (SELECT rn.nspname || '.' || rc.relname FROM pg_class rc
                              JOIN pg_namespace rn ON rn.oid = rc.relnamespace WHERE rc.oid = con.confrelid) END AS "references"
                  FROM pg_constraint con JOIN pg_class c ON c.oid = con.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace
                 WHERE c.relkind IN ('r', 'p') AND ${inScope('n')} AND ${notOurs('c.relname')} AND con.conislocal
                   AND con.contype <> 'n' -- NOT NULL (a constraint row since PostgreSQL 18) is the column's notNull
                 ORDER BY 1, 2, 3`,
  indexes: `SELECT n.nspname AS schema, tc.relname AS "table", ic.relname AS name, pg_get_indexdef(i.indexrelid) AS definition
              FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid JOIN pg_class tc ON tc.oid = i.indrelid
              JOIN pg_namespace n ON n.oid = tc.relnamespace
             WHERE tc.relkind IN ('r', 'p') AND ${inScope('n')} AND ${notOurs('tc.relname')}
               AND i.indexrelid NOT IN (SELECT conindid FROM pg_constraint WHERE contype IN ('p', 'u', 'x'))
             ORDER BY 1, 2, 3`,
  views: `SELECT n.nspname AS schema, c.relname AS name, c.relkind = 'm' AS materialized,
                 pg_get_viewdef(c.oid, true) AS definition, obj_description(c.oid, 'pg_class') AS comment,
                 coalesce((SELECT array_agg(DISTINCT rn.nspname || '.' || rc.relname ORDER BY rn.nspname || '.' || rc.relname)
                             FROM pg_rewrite r JOIN pg_depend d ON d.objid = r.oid AND d.classid = 'pg_rewrite'::regclass
                             JOIN pg_class rc ON rc.oid = d.refobjid AND rc.oid <> c.oid
                             JOIN pg_namespace rn ON rn.oid = rc.relnamespace
                            WHERE r.ev_class = c.oid), '{}') AS reads
            FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
           WHERE c.relkind IN ('v', 'm') AND ${inScope('n')} AND ${notFromExtension('c.oid', 'pg_class')}
           ORDER BY 1, 2`,
};

/**
 * A digest of every catalog row the read above depends on, by (oid, xmin): any DDL writes
 * new row versions (a new xmin), inserts or deletes rows, so an unchanged digest means an
 * unchanged catalog. What is not DDL leaves it alone: VACUUM and ANALYZE update pg_class in
 * place, and frozen rows keep their raw xmin. A change it over-reports (a GRANT, a TRUNCATE)
 * costs one full read that finds nothing. (Indexes are pg_class rows; what readCatalog shows of
 * one cannot change without a new row.) The rows are combined by XOR of 64-bit hashes,
 * not an ordered digest: no sort, and about 1 ms instead of a full read's 25.
 */
const stampQuery = `
  WITH ns AS (SELECT n.oid, n.xmin FROM pg_namespace n WHERE ${inScope('n')}),
       rel AS (SELECT c.oid, c.xmin FROM pg_class c WHERE c.relnamespace IN (SELECT oid FROM ns)),
       typ AS (SELECT t.oid, t.xmin FROM pg_type t WHERE t.typnamespace IN (SELECT oid FROM ns))
  SELECT count(*) || '.' || coalesce(bit_xor(hashtextextended(r, 0)), 0) AS stamp FROM (
    SELECT 'n' || oid || '.' || xmin AS r FROM ns
    UNION ALL SELECT 'c' || oid || '.' || xmin FROM rel
    UNION ALL SELECT 't' || oid || '.' || xmin FROM typ
    UNION ALL SELECT 'a' || attrelid || '.' || attnum || '.' || xmin FROM pg_attribute
               WHERE attrelid IN (SELECT oid FROM rel) AND attnum > 0
    UNION ALL SELECT 'd' || oid || '.' || xmin FROM pg_attrdef WHERE adrelid IN (SELECT oid FROM rel)
    UNION ALL SELECT 'k' || oid || '.' || xmin FROM pg_constraint WHERE connamespace IN (SELECT oid FROM ns)
    UNION ALL SELECT 'e' || oid || '.' || xmin FROM pg_enum WHERE enumtypid IN (SELECT oid FROM typ)
    UNION ALL SELECT 's' || seqrelid || '.' || xmin FROM pg_sequence WHERE seqrelid IN (SELECT oid FROM rel)
    UNION ALL SELECT 'm' || objoid || '.' || objsubid || '.' || xmin FROM pg_description
               WHERE classoid = 'pg_class'::regclass AND objoid IN (SELECT oid FROM rel)
    UNION ALL SELECT 'r' || oid || '.' || xmin FROM pg_rewrite WHERE ev_class IN (SELECT oid FROM rel)
    UNION ALL SELECT 'p' || objid || '.' || refobjid || '.' || refobjsubid || '.' || deptype::text || '.' || xmin
                FROM pg_depend WHERE classid = 'pg_class'::regclass AND objid IN (SELECT oid FROM rel)
    UNION ALL SELECT 'x' || oid || '.' || xmin FROM pg_extension
  ) AS catalog_rows`;

/** The digest of the catalog rows readCatalog reads (see stampQuery). */
export async function catalogStamp(db: Queryable, schemas?: readonly string[]): Promise<string> {
  const { rows } = await db.query<{ stamp: string }>(stampQuery, [schemas?.length ? schemas : null]);
  return rows[0]!.stamp;
}

const constraintKinds: Record<string, ConstraintKind> = {
  p: 'primary key',
  u: 'unique',
  f: 'foreign key',
  c: 'check',
  x: 'exclusion',
};

/**
 * The catalog of the schemas in scope, in a handful of queries. Given a second session
 * (`alongside`), the constraints, indexes and views are read on it at the same time: their
 * definitions are deparsed one row at a time, and the two halves take about as long.
 */
export async function readCatalog(
  db: Queryable,
  scope: CatalogScope,
  alongside?: Queryable,
): Promise<Catalog> {
  const params = [
    scope.schemas?.length ? scope.schemas : null,
    scope.tables.versionTable,
    scope.tables.historyTable,
  ];
  // Each query takes the parameters it refers to (PostgreSQL refuses unreferenced ones).
  const on =
    (session: Queryable) =>
    async <T>(sql: string) => {
      const used = Math.max(0, ...[...sql.matchAll(/\$(\d)/g)].map((m) => Number(m[1])));
      return (await session.query<T & Record<string, unknown>>(sql, params.slice(0, used))).rows as T[];
    };
  const run = on(db);
  const second = on(alongside ?? db);
  const definitions = (async () => {
    const constraints = await second<{
      schema: string;
      table: string;
      name: string;
      kind: string;
      definition: string;
      references: string | null;
    }>(queries.constraints);
    const indexes = await second<{ schema: string; table: string; name: string; definition: string }>(
      queries.indexes,
    );
    const views = await second<View>(queries.views);
    return { constraints, indexes, views };
  })();
  // Awaited below: its rejection is that await's, not an unhandled one meanwhile.
  definitions.catch(() => undefined);
  const schemas = await run<{ name: string }>(queries.schemas);
  const extensions = await run<{ name: string; schema: string }>(queries.extensions);
  const enums = await run<{ schema: string; name: string; labels: string[] }>(queries.enums);
  const sequences = await run<Sequence>(queries.sequences);
  const columns = await run<Column & { schema: string; table: string; tableComment: string | null }>(
    queries.columns,
  );
  const { constraints, indexes, views } = await definitions;

  type Building = {
    -readonly [K in keyof Table]: K extends 'columns' | 'constraints' | 'indexes'
      ? Table[K][number][]
      : Table[K];
  };
  const tables = new Map<string, Building>();
  for (const { schema, table, tableComment, ...col } of columns) {
    const key = `${schema}.${table}`;
    let t = tables.get(key);
    if (!t) {
      t = { schema, name: table, comment: tableComment, columns: [], constraints: [], indexes: [] };
      tables.set(key, t);
    }
    t.columns.push(col);
  }
  for (const { schema, table, kind, ...con } of constraints) {
    tables.get(`${schema}.${table}`)?.constraints.push({ ...con, kind: constraintKinds[kind] ?? 'check' });
  }
  for (const { schema, table, ...index } of indexes) tables.get(`${schema}.${table}`)?.indexes.push(index);
  return {
    schemas: schemas.map((s) => s.name),
    extensions,
    enums,
    sequences,
    tables: [...tables.values()],
    views: views.map((v) => ({ ...v, reads: [...v.reads] })),
  };
}
