import type { Queryable } from '../pg/db.js';
import type { Tables } from '../sql/bookkeeping.js';
import { stashSchema } from '../sql/stash-sql.js';

/**
 * A normalized catalog dump: one sorted line per schema object (tables, columns with
 * type, default and nullability, constraints and indexes with their definitions,
 * sequences, types, extensions, views, functions), so two schemas compare as text and
 * differ as a readable diff. revisor's own tables are left out.
 */
const userSchema = (alias: string) =>
  `${alias}.nspname NOT IN ('pg_catalog', 'information_schema', '${stashSchema}') AND ${alias}.nspname NOT LIKE 'pg\\_%'`;

// $1 and $2: the version and history table names; objects named after them are revisor's.
const ours = (column: string) =>
  `(${column} = ANY (ARRAY[$1, $2]) OR ${column} LIKE $1 || '\\_%' OR ${column} LIKE $2 || '\\_%')`;

const queries: Record<string, string> = {
  schema: `SELECT 'schema ' || n.nspname AS line FROM pg_namespace n WHERE ${userSchema('n')}`,
  relation: `SELECT CASE c.relkind WHEN 'r' THEN 'table ' WHEN 'p' THEN 'table (partitioned) ' WHEN 'v' THEN 'view '
                  WHEN 'm' THEN 'materialized view ' WHEN 'f' THEN 'foreign table ' END || n.nspname || '.' || c.relname AS line
               FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
              WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f') AND ${userSchema('n')} AND NOT ${ours('c.relname')}`,
  column: `SELECT 'column ' || n.nspname || '.' || c.relname || '.' || a.attname || ' ' || format_type(a.atttypid, a.atttypmod)
                  || CASE WHEN a.attnotnull THEN ' NOT NULL' ELSE '' END
                  || coalesce(' DEFAULT ' || pg_get_expr(d.adbin, d.adrelid), '')
                  || CASE a.attidentity WHEN 'a' THEN ' IDENTITY ALWAYS' WHEN 'd' THEN ' IDENTITY BY DEFAULT' ELSE '' END
                  || coalesce(' COLLATE ' || nullif(co.collname, 'default'), '') AS line
             FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
             LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
             LEFT JOIN pg_collation co ON co.oid = a.attcollation AND a.attcollation <> 0
            WHERE a.attnum > 0 AND NOT a.attisdropped AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
              AND ${userSchema('n')} AND NOT ${ours('c.relname')}`,
  constraint: `SELECT 'constraint ' || n.nspname || '.' || c.relname || '.' || con.conname || ' ' || pg_get_constraintdef(con.oid)
                      || CASE WHEN con.convalidated THEN '' ELSE ' (not validated)' END AS line
                 FROM pg_constraint con JOIN pg_class c ON c.oid = con.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace
                WHERE ${userSchema('n')} AND NOT ${ours('c.relname')}`,
  index: `SELECT 'index ' || n.nspname || '.' || ic.relname || ' ' || pg_get_indexdef(i.indexrelid)
                 || CASE WHEN i.indisvalid THEN '' ELSE ' (INVALID)' END AS line
            FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid JOIN pg_class tc ON tc.oid = i.indrelid
            JOIN pg_namespace n ON n.oid = ic.relnamespace
           WHERE ${userSchema('n')} AND NOT ${ours('tc.relname')}`,
  sequence: `SELECT 'sequence ' || n.nspname || '.' || c.relname || ' ' || format_type(s.seqtypid, NULL)
                    || ' start ' || s.seqstart || ' increment ' || s.seqincrement AS line
               FROM pg_sequence s JOIN pg_class c ON c.oid = s.seqrelid JOIN pg_namespace n ON n.oid = c.relnamespace
              WHERE ${userSchema('n')} AND NOT ${ours('c.relname')}`,
  type: `SELECT 'type ' || n.nspname || '.' || t.typname || ' ' || CASE t.typtype
                  WHEN 'e' THEN 'enum (' || (SELECT string_agg(quote_literal(e.enumlabel), ', ' ORDER BY e.enumsortorder)
                                              FROM pg_enum e WHERE e.enumtypid = t.oid) || ')'
                  WHEN 'd' THEN 'domain ' || format_type(t.typbasetype, t.typtypmod)
                  ELSE 'composite' END AS line
           FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
          WHERE ${userSchema('n')} AND (t.typtype IN ('e', 'd')
                OR (t.typtype = 'c' AND (SELECT relkind FROM pg_class WHERE oid = t.typrelid) = 'c'))`,
  extension: `SELECT 'extension ' || extname || ' ' || extversion AS line FROM pg_extension`,
  view: `SELECT 'view definition ' || schemaname || '.' || viewname || ' ' || md5(definition) AS line
           FROM pg_views WHERE schemaname NOT IN ('pg_catalog', 'information_schema')`,
  function: `SELECT 'function ' || n.nspname || '.' || p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ') '
                    || md5(coalesce(p.prosrc, '')) AS line
               FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
              WHERE ${userSchema('n')} AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = p.oid AND d.deptype = 'e')`,
};

const usesTableNames = new Set(['relation', 'column', 'constraint', 'index', 'sequence']);

export async function snapshot(db: Queryable, tables: Tables): Promise<string[]> {
  const lines: string[] = [];
  for (const [kind, sql] of Object.entries(queries)) {
    const params = usesTableNames.has(kind) ? [tables.versionTable, tables.historyTable] : [];
    const { rows } = await db.query<{ line: string }>(sql, params);
    lines.push(...rows.map((r) => r.line));
  }
  return lines.sort();
}
