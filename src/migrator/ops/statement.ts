/**
 * A statement is SQL text plus its bind parameters. Values never enter the text:
 * they travel as parameters. Identifiers are quoted by {@link ident}.
 */
export interface Statement {
  readonly sql: string;
  readonly params?: readonly unknown[];
  /** 1-based line in the migration file, for statements read from a .sql file. */
  readonly line?: number;
  /**
   * Where a TypeScript migration's op call made it (non-enumerable: not part of what a
   * statement is, compared or serialized). Lint reads the author's line from its stack,
   * and only when it reports one.
   */
  readonly site?: Error;
}

/** A fragment of SQL written by the migration author (server defaults, checks, WHERE). */
export interface RawSql {
  readonly raw: string;
}

export function sql(text: string): RawSql {
  return { raw: text };
}

export function isRawSql(value: unknown): value is RawSql {
  return typeof value === 'object' && value !== null && typeof (value as RawSql).raw === 'string';
}

// Keywords PostgreSQL reserves outright or refuses as column names; any identifier
// among them, or outside [a-z_][a-z0-9_$]*, is quoted.
const reserved = new Set(
  (
    'all analyse analyze and any array as asc asymmetric authorization between bigint binary bit boolean both ' +
    'case cast char character check coalesce collate collation column concurrently constraint create cross ' +
    'current_catalog current_date current_role current_schema current_time current_timestamp current_user ' +
    'dec decimal default deferrable desc distinct do else end except exists extract false fetch float for ' +
    'foreign freeze from full grant greatest group grouping having ilike in initially inner inout int integer ' +
    'intersect interval into is isnull join json lateral leading least left like limit localtime ' +
    'localtimestamp national natural nchar none normalize not notnull null nullif numeric offset on only or ' +
    'order out outer overlaps overlay placing position precision primary real references returning right row ' +
    'select session_user setof similar smallint some substring symmetric system_user table tablesample then ' +
    'time timestamp to trailing treat trim true union unique user using values varchar variadic verbose when ' +
    'where window with'
  ).split(' '),
);

export function ident(name: string): string {
  if (name.length === 0 || name.includes('\0')) {
    throw new TypeError(`invalid SQL identifier ${JSON.stringify(name)}`);
  }
  if (/^[a-z_][a-z0-9_$]*$/.test(name) && !reserved.has(name)) return name;
  return `"${name.replaceAll('"', '""')}"`;
}

export function qualified(name: string, schema?: string | null): string {
  return schema ? `${ident(schema)}.${ident(name)}` : ident(name);
}

/**
 * A literal for DDL, where PostgreSQL accepts no bind parameters (DEFAULT clauses,
 * enum labels) and for offline SQL. standard_conforming_strings is on since 9.1, so
 * doubling quotes is the whole escape; an E'' string is used when a backslash appears
 * so the text means the same whatever that setting is.
 */
export function literal(value: unknown): string {
  if (value === null || value === undefined) return 'NULL';
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value === 'number' || typeof value === 'bigint') {
    if (typeof value === 'number' && !Number.isFinite(value)) return `'${value}'`;
    return String(value);
  }
  if (value instanceof Date) return literal(value.toISOString());
  if (typeof value === 'object' && !isRawSql(value)) return literal(JSON.stringify(value));
  if (isRawSql(value)) return value.raw;
  const text = String(value);
  if (text.includes('\0')) throw new TypeError('a SQL literal cannot contain a NUL character');
  const quoted = text.replaceAll("'", "''");
  return text.includes('\\') ? `E'${quoted.replaceAll('\\', '\\\\')}'` : `'${quoted}'`;
}

/** Offline rendering: the statement with its parameters inlined as literals. */
export function inline(statement: Statement): string {
  const params = statement.params ?? [];
  if (params.length === 0) return statement.sql;
  return statement.sql.replace(/\$(\d+)/g, (match, n: string) => {
    const index = Number(n) - 1;
    return index < params.length ? literal(params[index]) : match;
  });
}
