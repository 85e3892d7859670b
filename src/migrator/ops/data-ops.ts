import { ident, qualified, type Statement } from './statement.js';

/** Equality conditions joined with AND; a null value matches IS NULL. */
export type Where = Readonly<Record<string, unknown>>;

function whereClause(where: Where, params: unknown[]): string {
  const terms = Object.entries(where).map(([col, value]) => {
    if (value === null) return `${ident(col)} IS NULL`;
    params.push(value);
    return `${ident(col)} = $${params.length}`;
  });
  if (terms.length === 0)
    throw new TypeError('a data migration needs a WHERE condition; pass sql via execute() for all rows');
  return ` WHERE ${terms.join(' AND ')}`;
}

export function bulkInsert(
  table: string,
  rows: readonly Readonly<Record<string, unknown>>[],
  options: { schema?: string } = {},
): Statement {
  if (rows.length === 0) throw new TypeError(`bulkInsert into ${table} needs at least one row`);
  const columns = [...new Set(rows.flatMap((row) => Object.keys(row)))];
  const params: unknown[] = [];
  const tuples = rows.map((row) => {
    const slots = columns.map((col) => {
      if (!(col in row)) return 'DEFAULT';
      params.push(row[col]);
      return `$${params.length}`;
    });
    return `(${slots.join(', ')})`;
  });
  return {
    sql: `INSERT INTO ${qualified(table, options.schema)} (${columns.map(ident).join(', ')}) VALUES ${tuples.join(', ')}`,
    params,
  };
}

export function update(
  table: string,
  values: Readonly<Record<string, unknown>>,
  where: Where,
  options: { schema?: string } = {},
): Statement {
  const params: unknown[] = [];
  const assignments = Object.entries(values).map(([col, value]) => {
    params.push(value);
    return `${ident(col)} = $${params.length}`;
  });
  if (assignments.length === 0) throw new TypeError(`update of ${table} sets no column`);
  const sql = `UPDATE ${qualified(table, options.schema)} SET ${assignments.join(', ')}${whereClause(where, params)}`;
  return { sql, params };
}

export function deleteRows(table: string, where: Where, options: { schema?: string } = {}): Statement {
  const params: unknown[] = [];
  return { sql: `DELETE FROM ${qualified(table, options.schema)}${whereClause(where, params)}`, params };
}
