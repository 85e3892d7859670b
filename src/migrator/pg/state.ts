import {
  addHistorySchemaColumns,
  createHistoryTable,
  createSchemaIfMissing,
  createVersionTable,
  selectAppliedChecksums,
  selectHeads,
  selectState,
  type Tables,
  tablesProbe,
  versionLength,
  widenHistoryRevision,
} from '../sql/bookkeeping.js';
import { pgCode, type Queryable, sqlState } from './db.js';
import { lockKey } from './lock.js';

export interface DatabaseState {
  /** The version table's rows; empty when the table does not exist yet. */
  readonly heads: readonly string[];
  /** Checksum of the last applied upgrade of each revision, from the history table. */
  readonly checksums: ReadonlyMap<string, string>;
}

async function rowsOrNothing<R extends Record<string, unknown>>(
  db: Queryable,
  statement: { sql: string; params?: readonly unknown[] },
): Promise<R[]> {
  try {
    return (await db.query<R>(statement.sql, statement.params)).rows;
  } catch (err) {
    if (pgCode(err) === sqlState.undefinedTable) return [];
    throw err;
  }
}

/**
 * The version table's rows: one read of a table with a row per head, however long the
 * history. Enough to see that there is nothing to do.
 */
export async function readHeads(db: Queryable, tables: Tables): Promise<readonly string[]> {
  const rows = await rowsOrNothing<{ version_num: string }>(db, selectHeads(tables));
  return rows.map((r) => r.version_num).sort();
}

/**
 * The heads and the recorded checksum of every applied revision: a read that grows with
 * the history, so it is made only when a run has work to do, or to report drift. One
 * round trip while both tables exist; each apart while one is missing.
 */
export async function readState(db: Queryable, tables: Tables): Promise<DatabaseState> {
  let rows: { kind: 'head' | 'applied'; revision: string; checksum: string | null }[];
  try {
    const statement = selectState(tables);
    rows = (await db.query<(typeof rows)[number]>(statement.sql, statement.params)).rows;
  } catch (err) {
    if (pgCode(err) !== sqlState.undefinedTable) throw err;
    return readStateApart(db, tables);
  }
  const heads = rows.filter((r) => r.kind === 'head').map((r) => r.revision);
  return {
    heads: heads.sort(),
    checksums: new Map(
      heads.length === 0
        ? []
        : rows
            .filter((r) => r.kind === 'applied' && r.checksum !== null)
            .map((r) => [r.revision, r.checksum!]),
    ),
  };
}

async function readStateApart(db: Queryable, tables: Tables): Promise<DatabaseState> {
  const heads = await readHeads(db, tables);
  const checksums =
    heads.length === 0
      ? []
      : await rowsOrNothing<{ revision: string; checksum: string | null }>(
          db,
          selectAppliedChecksums(tables),
        );
  return {
    heads,
    checksums: new Map(checksums.filter((r) => r.checksum !== null).map((r) => [r.revision, r.checksum!])),
  };
}

/**
 * Readies the work session and creates what is missing, returning the version column's
 * length (a revision id longer than it cannot be recorded); run under the migration lock
 * of its version table.
 * The schema is created only when absent: CREATE SCHEMA checks the database-level
 * privilege even with IF NOT EXISTS, which a least-privileged migration role lacks.
 */
export async function ensureTables(db: Queryable, tables: Tables, pooled: boolean): Promise<number> {
  const probe = tablesProbe(tables);
  const { rows } = await db.query<{
    schema_exists: boolean;
    version_length: number | null;
    history_revision_length: number | null;
    history_exists: boolean;
    history_has_schema: boolean;
  }>(probe.sql, probe.params);
  const found = rows[0]!;
  const statements = [
    ...(found.schema_exists ? [] : [createSchemaIfMissing(tables)]),
    createVersionTable(tables),
    ...createHistoryTable(tables),
    // History tables made before revision ids could be longer than 32 characters.
    ...(found.history_revision_length === null ? [] : [widenHistoryRevision(tables)]),
    ...(found.history_exists && !found.history_has_schema ? [addHistorySchemaColumns(tables)] : []),
  ];
  // A killed migrator's statement would otherwise run on to its end, holding its table
  // locks after the advisory lock is gone; PostgreSQL 14+ can notice the dead client.
  // Behind a pooler the setting would land on whichever server connection is next (and
  // the pooler itself sees its clients go), so it is left out there.
  // None takes parameters: one round trip for all of them, one implicit transaction.
  // Runs with other version tables share the history table, under locks of their own:
  // creating it waits for theirs (a transaction-level lock on the schema's history table),
  // as two CREATE ... IF NOT EXISTS at once can both miss the table and one fails.
  const creation = lockKey('', tables.schema, tables.historyTable, 'revisor-tables');
  await db.query(
    [
      ...(pooled
        ? []
        : [
            "SELECT set_config('client_connection_check_interval', '1000', false) WHERE current_setting('server_version_num')::int >= 140000",
          ]),
      `SELECT pg_advisory_xact_lock(${creation.toString()})`,
      ...statements.map((s) => s.sql),
    ].join(';\n'),
  );
  return found.version_length ?? versionLength(tables);
}
