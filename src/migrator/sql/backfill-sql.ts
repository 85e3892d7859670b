import { qualified, type Statement } from '../ops/statement.js';
import type { Tables } from './bookkeeping.js';

/**
 * Where a backfill keeps its cursor: one row per (version table, revision, table), written
 * in the same transaction as each batch, so a run that stops anywhere resumes exactly after
 * the last committed batch. The row goes when the backfill is done.
 */
export const backfillTable = (t: Tables) => qualified(`${t.historyTable}_backfill`, t.schema);

export function createBackfillTable(t: Tables): Statement {
  return {
    sql: `CREATE TABLE IF NOT EXISTS ${backfillTable(t)} (
    version_table text NOT NULL,
    revision text NOT NULL,
    target text NOT NULL,
    last_key text,
    rows_done bigint NOT NULL DEFAULT 0,
    batches bigint NOT NULL DEFAULT 0,
    updated_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (version_table, revision, target)
)`,
  };
}

export function selectBackfillCursor(t: Tables, revision: string, target: string): Statement {
  return {
    sql: `SELECT last_key AS "lastKey", rows_done::bigint::float8 AS "rowsDone" FROM ${backfillTable(t)}
       WHERE version_table = $1 AND revision = $2 AND target = $3`,
    params: [t.versionTable, revision, target],
  };
}

export function saveBackfillCursor(
  t: Tables,
  revision: string,
  target: string,
  lastKey: string,
  rows: number,
): Statement {
  return {
    sql: `INSERT INTO ${backfillTable(t)} (version_table, revision, target, last_key, rows_done, batches)
       VALUES ($1, $2, $3, $4, $5, 1)
       ON CONFLICT (version_table, revision, target) DO UPDATE
       SET last_key = excluded.last_key, rows_done = ${backfillTable(t)}.rows_done + excluded.rows_done,
           batches = ${backfillTable(t)}.batches + 1, updated_at = clock_timestamp()`,
    params: [t.versionTable, revision, target, lastKey, rows],
  };
}

export function deleteBackfillCursor(t: Tables, revision: string, target: string): Statement {
  return {
    sql: `DELETE FROM ${backfillTable(t)} WHERE version_table = $1 AND revision = $2 AND target = $3`,
    params: [t.versionTable, revision, target],
  };
}

/** The planner's row estimate, for progress: exact counts would scan the table. */
export function estimateRows(qualifiedTable: string): Statement {
  return {
    sql: 'SELECT greatest(reltuples, 0)::float8 AS estimate FROM pg_class WHERE oid = to_regclass($1)',
    params: [qualifiedTable],
  };
}
