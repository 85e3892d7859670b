import { qualified, type Statement } from '../ops/statement.js';
import type { RowChange } from '../plan/version-rows.js';

/** Where the version table and its history live. */
export interface Tables {
  readonly schema: string;
  readonly versionTable: string;
  readonly historyTable: string;
}

export const defaultTables: Tables = Object.freeze({
  schema: 'public',
  versionTable: 'alembic_version',
  historyTable: 'revisor_history',
});

/** PostgreSQL's NAMEDATALEN - 1: longer identifiers are silently truncated. */
const maxIdentifierBytes = 63;
const bytes = (name: string) => Buffer.byteLength(name, 'utf8');

/**
 * What is wrong with a set of table names, before any database is touched: names
 * PostgreSQL would truncate (so a derived constraint or index name collides), a history
 * table that is the version table, and system schemas. Empty when all is well.
 */
export function tableProblems(t: Tables): string[] {
  const problems: string[] = [];
  const named = [
    ['version schema', t.schema, ''],
    ['version table', t.versionTable, '_pkc'],
    ['history table', t.historyTable, '_revision_idx'],
  ] as const;
  for (const [what, name, derived] of named) {
    if (name.length === 0 || name.includes('\0')) problems.push(`the ${what} name is empty or holds a NUL`);
    else if (bytes(name) + bytes(derived) > maxIdentifierBytes) {
      const limit = maxIdentifierBytes - bytes(derived);
      problems.push(
        `the ${what} name "${name}" is ${bytes(name)} bytes; at most ${limit}${derived ? ` (its ${derived} name must fit in ${maxIdentifierBytes})` : ''}`,
      );
    }
  }
  if (t.versionTable === t.historyTable)
    problems.push('the version table and the history table have the same name');
  if (/^pg_/i.test(t.schema) || t.schema === 'information_schema') {
    problems.push(`"${t.schema}" is a system schema; keep the version table in an application schema`);
  }
  return problems;
}

const versionTable = (t: Tables) => qualified(t.versionTable, t.schema);
export const historyTable = (t: Tables) => qualified(t.historyTable, t.schema);

/** Alembic's own DDL, constraint name included, so Alembic sees the table it made. */
export function createVersionTable(t: Tables): Statement {
  return {
    sql:
      `CREATE TABLE IF NOT EXISTS ${versionTable(t)} (version_num varchar(32) NOT NULL, ` +
      `CONSTRAINT ${qualified(`${t.versionTable}_pkc`)} PRIMARY KEY (version_num))`,
  };
}

export function createHistoryTable(t: Tables): Statement[] {
  const table = historyTable(t);
  return [
    {
      sql: `CREATE TABLE IF NOT EXISTS ${table} (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    version_table text NOT NULL,
    revision varchar(32) NOT NULL,
    direction text NOT NULL CHECK (direction IN ('upgrade', 'downgrade', 'stamp')),
    checksum text,
    started_at timestamptz NOT NULL,
    finished_at timestamptz,
    duration_ms double precision,
    executed_by text NOT NULL,
    outcome text NOT NULL CHECK (outcome IN ('running', 'applied', 'failed', 'interrupted')),
    heads_after text,
    error text
)`,
    },
    {
      sql: `CREATE INDEX IF NOT EXISTS ${qualified(`${t.historyTable}_revision_idx`)} ON ${table} (version_table, revision, id)`,
    },
  ];
}

export function createSchemaIfMissing(t: Tables): Statement {
  return { sql: `CREATE SCHEMA IF NOT EXISTS ${qualified(t.schema)}` };
}

export function selectHeads(t: Tables): Statement {
  return { sql: `SELECT version_num FROM ${versionTable(t)}` };
}

export function rowChangeStatement(t: Tables, change: RowChange): Statement {
  const table = versionTable(t);
  switch (change.kind) {
    case 'insert':
      return { sql: `INSERT INTO ${table} (version_num) VALUES ($1)`, params: [change.revision] };
    case 'delete':
      return { sql: `DELETE FROM ${table} WHERE version_num = $1`, params: [change.revision] };
    case 'update':
      return {
        sql: `UPDATE ${table} SET version_num = $1 WHERE version_num = $2`,
        params: [change.to, change.from],
      };
  }
}

export function deleteAllHeads(t: Tables): Statement {
  return { sql: `DELETE FROM ${versionTable(t)}` };
}

/** The checksum of each revision's most recent applied upgrade (or stamp over it). */
export function selectAppliedChecksums(t: Tables): Statement {
  return {
    sql:
      `SELECT DISTINCT ON (revision) revision, checksum FROM ${historyTable(t)} ` +
      `WHERE version_table = $1 AND direction IN ('upgrade', 'stamp') AND outcome = 'applied' AND checksum IS NOT NULL ` +
      'ORDER BY revision, id DESC',
    params: [t.versionTable],
  };
}
