import { qualified, type Statement } from './ops/statement.js';
import type { RowChange } from './version-rows.js';

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
