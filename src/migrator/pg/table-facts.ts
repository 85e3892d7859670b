import type { TableFacts } from '../lint/judge.js';
import type { Queryable } from './db.js';

/**
 * Size and statistics of the tables lint findings touch, by name as the SQL wrote it
 * (unqualified names resolve through the session's search_path, as the migration's will).
 * One query; names are parameters, quoted by quote_ident on the server.
 */
export async function readTableFacts(
  db: Queryable,
  tables: readonly string[],
): Promise<Map<string, TableFacts>> {
  const unique = [...new Set(tables)];
  const split = unique.map((t) => {
    const dot = t.indexOf('.');
    return dot < 0 ? ['', t] : [t.slice(0, dot), t.slice(dot + 1)];
  });
  const { rows } = await db.query<{ found: boolean; rows: number; bytes: number; indexes: number }>(
    `SELECT c.oid IS NOT NULL AS found,
            coalesce(c.reltuples, -1)::float8 AS rows,
            coalesce(pg_total_relation_size(c.oid), 0)::float8 AS bytes,
            (SELECT count(*) FROM pg_index i WHERE i.indrelid = c.oid)::int AS indexes
       FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS t(schema_name, table_name, n)
       LEFT JOIN pg_class c ON c.oid = to_regclass(
              CASE WHEN t.schema_name = '' THEN quote_ident(t.table_name)
                   ELSE quote_ident(t.schema_name) || '.' || quote_ident(t.table_name) END)
      ORDER BY t.n`,
    [split.map(([schema]) => schema), split.map(([, table]) => table)],
  );
  return new Map(unique.map((table, i) => [table, rows[i]!]));
}
