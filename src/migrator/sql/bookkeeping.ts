/**
 * All of revisor's bookkeeping SQL, rendered here and nowhere else: the version table
 * (Alembic's, row for row) and the history table, for every way a run records a step.
 * Values are bind parameters; identifiers are quoted.
 */
import { qualified, type Statement } from '../ops/statement.js';
import type { Step } from '../plan/planner.js';
import type { RowChange } from '../plan/version-rows.js';

/** Where the version table and its history live. */
export interface Tables {
  readonly schema: string;
  readonly versionTable: string;
  readonly historyTable: string;
  /** The version column's varchar length when revisor creates the table: Alembic's 32 by default. */
  readonly versionLength?: number;
}

export const versionLength = (t: Tables) => t.versionLength ?? 32;

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
      `CREATE TABLE IF NOT EXISTS ${versionTable(t)} (version_num varchar(${Math.trunc(versionLength(t))}) NOT NULL, ` +
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
    revision text NOT NULL,
    direction text NOT NULL CHECK (direction IN ('upgrade', 'downgrade', 'stamp')),
    checksum text,
    started_at timestamptz NOT NULL,
    finished_at timestamptz,
    duration_ms double precision,
    executed_by text NOT NULL,
    outcome text NOT NULL CHECK (outcome IN ('running', 'applied', 'failed', 'interrupted')),
    heads_after text,
    error text,
    schema_fingerprint text,
    schema_snapshot bytea,
    backup text
)`,
    },
    {
      sql: `CREATE INDEX IF NOT EXISTS ${qualified(`${t.historyTable}_revision_idx`)} ON ${table} (version_table, revision, id)`,
    },
  ];
}

/**
 * Whether the schema exists, the lengths of the version column and the history's revision
 * column (varchar's n; null for text or no such column), and whether the history has the
 * schema-snapshot columns. From pg_catalog, not information_schema: planning those views'
 * joins took 15 ms of every run with work, the probe itself well under one.
 */
export function tablesProbe(t: Tables): Statement {
  const column = (table: string, name: string) =>
    "SELECT CASE WHEN a.atttypid IN ('pg_catalog.varchar'::regtype, 'pg_catalog.bpchar'::regtype) AND a.atttypmod >= 4 " +
    'THEN a.atttypmod - 4 END FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid ' +
    'JOIN pg_namespace n ON n.oid = c.relnamespace ' +
    `WHERE n.nspname = $1 AND c.relname = ${table} AND a.attname = '${name}' AND NOT a.attisdropped`;
  return {
    sql:
      'SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1) AS schema_exists, ' +
      `(${column('$2', 'version_num')}) AS version_length, (${column('$3', 'revision')}) AS history_revision_length, ` +
      'EXISTS (SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace ' +
      "WHERE n.nspname = $1 AND c.relname = $3 AND c.relkind IN ('r', 'p')) AS history_exists, " +
      `EXISTS (${column('$3', 'backup')}) AS history_has_schema`,
    params: [t.schema, t.versionTable, t.historyTable],
  };
}

/** History tables made before schema snapshots were recorded. */
export function addHistorySchemaColumns(t: Tables): Statement {
  return {
    sql: `ALTER TABLE ${historyTable(t)} ADD COLUMN IF NOT EXISTS schema_fingerprint text, ADD COLUMN IF NOT EXISTS schema_snapshot bytea, ADD COLUMN IF NOT EXISTS backup text`,
  };
}

/** The catalog after a run, on the run's last applied history row (revisor drift compares with it). */
export function recordSchema(t: Tables, fingerprint: string, snapshot: Buffer): Statement {
  return {
    sql: `UPDATE ${historyTable(t)} SET schema_fingerprint = $2, schema_snapshot = $3
       WHERE id = (SELECT max(id) FROM ${historyTable(t)} WHERE version_table = $1 AND outcome = 'applied' AND direction <> 'stamp')
       RETURNING id::text AS id, finished_at AS "recordedAt", revision`,
    params: [t.versionTable, fingerprint, snapshot],
  };
}

/** Where the run's backup went (--backup), on its last history row. */
export function recordBackup(t: Tables, location: string): Statement {
  return {
    sql: `UPDATE ${historyTable(t)} SET backup = $2
       WHERE id = (SELECT max(id) FROM ${historyTable(t)} WHERE version_table = $1 AND direction <> 'stamp')`,
    params: [t.versionTable, location],
  };
}

export function selectRecordedSchema(t: Tables): Statement {
  return {
    sql: `SELECT schema_fingerprint AS fingerprint, schema_snapshot AS snapshot, finished_at AS "recordedAt", revision
       FROM ${historyTable(t)} WHERE version_table = $1 AND schema_fingerprint IS NOT NULL ORDER BY id DESC LIMIT 1`,
    params: [t.versionTable],
  };
}

/** Which recording selectRecordedSchema would return, without its snapshot. */
export function selectRecordedSchemaId(t: Tables): Statement {
  return {
    sql: `SELECT id::text AS id FROM ${historyTable(t)}
       WHERE version_table = $1 AND schema_fingerprint IS NOT NULL ORDER BY id DESC LIMIT 1`,
    params: [t.versionTable],
  };
}

export function widenHistoryRevision(t: Tables): Statement {
  return { sql: `ALTER TABLE ${historyTable(t)} ALTER COLUMN revision TYPE text` };
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

// The checksum of each revision's most recent applied upgrade (or stamp over it).
const appliedChecksums = (t: Tables, columns: string) =>
  `SELECT DISTINCT ON (revision) ${columns} FROM ${historyTable(t)} ` +
  `WHERE version_table = $1 AND direction IN ('upgrade', 'stamp') AND outcome = 'applied' AND checksum IS NOT NULL ` +
  'ORDER BY revision, id DESC';

/** The checksum of each revision's most recent applied upgrade (or stamp over it). */
export function selectAppliedChecksums(t: Tables): Statement {
  return { sql: appliedChecksums(t, 'revision, checksum'), params: [t.versionTable] };
}

/**
 * The heads and the applied checksums in one round trip (kind 'head' or 'applied'): what
 * the controller's every look reads. Fails with undefined_table when either table is
 * missing; the caller then reads them apart.
 */
export function selectState(t: Tables): Statement {
  return {
    sql:
      `SELECT 'head' AS kind, version_num::text AS revision, NULL::text AS checksum FROM ${versionTable(t)} ` +
      `UNION ALL (${appliedChecksums(t, "'applied', revision, checksum")})`,
    params: [t.versionTable],
  };
}

export type Outcome = 'running' | 'applied' | 'failed' | 'interrupted';

export interface HistoryEntry {
  readonly revision: string;
  readonly direction: 'upgrade' | 'downgrade' | 'stamp';
  readonly checksum: string | null;
  readonly startedAt: Date;
  readonly executedBy: string;
  readonly outcome: Outcome;
  readonly headsAfter: readonly string[] | null;
  readonly error?: string;
}

/**
 * The INSERT of a history row, its parameters numbered from $offset+1 so it can sit in
 * a larger statement. finished_at and the duration come from the server's clock.
 */
export function historyInsert(t: Tables, entry: HistoryEntry, offset = 0): Statement {
  const p = (n: number) => `$${n + offset}`;
  const finished = `CASE WHEN ${p(8)} = 'running' THEN NULL ELSE clock_timestamp() END`;
  const duration = `CASE WHEN ${p(8)} = 'running' THEN NULL ELSE extract(epoch FROM clock_timestamp() - ${p(5)}::timestamptz) * 1000 END`;
  return {
    sql:
      `INSERT INTO ${historyTable(t)} (version_table, revision, direction, checksum, started_at, finished_at, ` +
      `duration_ms, executed_by, outcome, heads_after, error) VALUES (${p(1)}, ${p(2)}, ${p(3)}, ${p(4)}, ${p(5)}, ` +
      `${finished}, ${duration}, ${p(6)}, ${p(8)}, ${p(7)}, ${p(9)}) RETURNING id`,
    params: [
      t.versionTable,
      entry.revision,
      entry.direction,
      entry.checksum,
      entry.startedAt,
      entry.executedBy,
      entry.headsAfter?.join(',') ?? null,
      entry.outcome,
      entry.error ?? null,
    ],
  };
}

/** Renumbers $n placeholders by `offset`, so statements can share one parameter list. */
function shift(statement: Statement, offset: number): string {
  return statement.sql.replace(/\$(\d+)/g, (_, n: string) => `$${Number(n) + offset}`);
}

/**
 * The version-row changes and the history row of a step as one statement: data-modifying
 * CTEs, each change touching a different row, returning how many rows each matched so a
 * version table edited by hand is noticed.
 */
export function stepFinish(t: Tables, changes: readonly RowChange[], entry: HistoryEntry): Statement {
  const params: unknown[] = [];
  const ctes: string[] = [];
  changes.forEach((change, i) => {
    const statement = rowChangeStatement(t, change);
    ctes.push(`c${i} AS (${shift(statement, params.length)} RETURNING 1)`);
    params.push(...(statement.params ?? []));
  });
  const history = historyInsert(t, entry, params.length);
  params.push(...(history.params ?? []));
  ctes.push(`h AS (${history.sql})`);
  const counts = changes.map((_, i) => `(SELECT count(*) FROM c${i})::int AS c${i}`);
  return {
    sql: `WITH ${ctes.join(', ')} SELECT ${[...counts, '(SELECT id FROM h) AS id'].join(', ')}`,
    params,
  };
}

/** A step applied inside the run's single transaction, recorded when the run finishes. */
export interface AppliedStep {
  readonly revision: string;
  readonly direction: 'upgrade' | 'downgrade';
  readonly checksum: string;
  readonly startedAt: Date;
  readonly finishedAt: Date;
  readonly headsAfter: readonly string[];
}

export function appliedStep(step: Step, startedAt: Date, finishedAt: Date): AppliedStep {
  const { revision, direction, headsAfter } = step;
  return {
    revision,
    direction,
    checksum: step.migration.checksum(direction),
    startedAt,
    finishedAt,
    headsAfter,
  };
}

/**
 * The end of an all-in-one run as one statement: the version table goes from the run's
 * first heads to its last (rows leaving are deleted, and counted so a table edited by
 * hand is noticed; rows arriving are inserted) and every step gets its history row.
 * Nobody sees the intermediate rows of a single transaction, so only the net change is
 * written.
 */
export function runFinish(
  t: Tables,
  fromHeads: readonly string[],
  toHeads: readonly string[],
  steps: readonly AppliedStep[],
  executedBy: string,
): Statement {
  const leaving = fromHeads.filter((h) => !toHeads.includes(h));
  const arriving = toHeads.filter((h) => !fromHeads.includes(h));
  const table = qualified(t.versionTable, t.schema);
  return {
    sql:
      `WITH d AS (DELETE FROM ${table} WHERE version_num = ANY ($1::varchar[]) RETURNING 1), ` +
      `i AS (INSERT INTO ${table} (version_num) SELECT unnest($2::varchar[]) RETURNING 1), ` +
      `h AS (INSERT INTO ${historyTable(t)} (version_table, revision, direction, checksum, started_at, finished_at, ` +
      'duration_ms, executed_by, outcome, heads_after) ' +
      "SELECT $3, r, d, c, s, f, extract(epoch FROM f - s) * 1000, $4, 'applied', ha " +
      'FROM unnest($5::text[], $6::text[], $7::text[], $8::timestamptz[], $9::timestamptz[], $10::text[]) AS x(r, d, c, s, f, ha) ' +
      'RETURNING 1) ' +
      'SELECT (SELECT count(*) FROM d)::int AS deleted, (SELECT count(*) FROM h)::int AS recorded',
    params: [
      leaving,
      arriving,
      t.versionTable,
      executedBy,
      steps.map((s) => s.revision),
      steps.map((s) => s.direction),
      steps.map((s) => s.checksum),
      steps.map((s) => s.startedAt),
      steps.map((s) => s.finishedAt),
      steps.map((s) => s.headsAfter.join(',')),
    ],
  };
}

export function historyFinish(
  t: Tables,
  id: number,
  outcome: Outcome,
  headsAfter: readonly string[] | null,
  error?: string,
): Statement {
  return {
    sql: `UPDATE ${historyTable(t)} SET outcome = $2, finished_at = clock_timestamp(),
            duration_ms = extract(epoch FROM clock_timestamp() - started_at) * 1000,
            heads_after = coalesce($3, heads_after), error = $4
      WHERE id = $1`,
    params: [id, outcome, headsAfter?.join(',') ?? null, error ?? null],
  };
}

export function historyMarkInterrupted(t: Tables): Statement {
  return {
    sql: `UPDATE ${historyTable(t)} SET outcome = 'interrupted', finished_at = clock_timestamp()
      WHERE version_table = $1 AND outcome = 'running' RETURNING revision, started_at`,
    params: [t.versionTable],
  };
}

export function historySelect(t: Tables, limit: number): Statement {
  return {
    sql: `SELECT id, revision, direction, checksum, started_at, finished_at, duration_ms, executed_by, outcome, heads_after, error
       FROM ${historyTable(t)} WHERE version_table = $1 ORDER BY id DESC LIMIT $2`,
    params: [t.versionTable, limit],
  };
}

/** Where a script's steps find what they record (batch-sql.ts stages it there). */
export const settingPrefix = 'revisor.step_';
export const startedSetting = 'revisor.step_started';

/** The prepared statement a per-migration script finishes each step with. */
export const finishName = 'revisor_finish';

/**
 * A step's version-row changes and history row, from the record staged for the ordinal
 * it is executed with; prepared once per script, so it is planned once rather than per
 * step. The last column makes a row count other than the one expected (the version
 * table was edited during the run) an error inside the step's transaction, so it is
 * rolled back: SQL has no RAISE, and a cast of text that is not a number fails. The text
 * is built from the row so that it is not a constant, which the planner would fold and
 * fail on every time.
 */
export function prepareFinish(t: Tables): string {
  const version = qualified(t.versionTable, t.schema);
  return (
    `PREPARE ${finishName}(int) AS WITH s AS (SELECT current_setting('${settingPrefix}' || $1)::jsonb AS j), ` +
    `d AS (DELETE FROM ${version} WHERE version_num IN (SELECT jsonb_array_elements_text(s.j->'deletes') FROM s) RETURNING 1), ` +
    `u AS (UPDATE ${version} v SET version_num = s.j->'update'->>1 FROM s WHERE v.version_num = s.j->'update'->>0 RETURNING 1), ` +
    `i AS (INSERT INTO ${version} (version_num) SELECT jsonb_array_elements_text(s.j->'inserts') FROM s RETURNING 1), ` +
    `h AS (INSERT INTO ${historyTable(t)} (version_table, revision, direction, checksum, started_at, finished_at, ` +
    'duration_ms, executed_by, outcome, heads_after) ' +
    "SELECT j->>'versionTable', j->>'revision', j->>'direction', j->>'checksum', t.started, clock_timestamp(), " +
    "extract(epoch FROM clock_timestamp() - t.started) * 1000, j->>'executedBy', 'applied', j->>'headsAfter' " +
    `FROM s, (SELECT to_timestamp(current_setting('${startedSetting}')::float8) AS started) t RETURNING 1) ` +
    "SELECT CASE WHEN (SELECT count(*) FROM d) = jsonb_array_length(j->'deletes') " +
    "AND (SELECT count(*) FROM u) = (jsonb_typeof(j->'update') = 'array')::int " +
    "THEN 0 ELSE ('the version table changed under ' || (j->>'revision') || '; was it edited by hand?')::int END AS revisor_check FROM s"
  );
}
