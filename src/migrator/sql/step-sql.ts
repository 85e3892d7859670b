import type { Statement } from '../ops/statement.js';
import { qualified } from '../ops/statement.js';
import { type HistoryEntry, historyInsert } from '../pg/history.js';
import type { Step } from '../plan/planner.js';
import type { RowChange } from '../plan/version-rows.js';
import { historyTable, rowChangeStatement, type Tables } from './bookkeeping.js';

/** A non-negative integer as SQL text: the only values these scripts format themselves. */
export const sqlInteger = (n: number) => String(Math.max(0, Math.trunc(n)));

/**
 * How a transactional step opens: its transaction, timeouts and the lock's fence (see
 * lock.ts), in one round trip. The timeouts are integers this code formats, not input
 * text. Inside the run's single transaction (a savepoint per step) the timeouts and the
 * fence were set once at BEGIN; only a retry with a longer lock_timeout sets it, and
 * `stepEpilogue` puts it back.
 */
export function stepPrelude(
  kind: 'transaction' | 'savepoint',
  lockTimeoutMs: number,
  statementTimeoutMs: number,
  fence: string,
  baseLockTimeoutMs: number = lockTimeoutMs,
): string {
  if (kind === 'transaction') {
    return `BEGIN; SET LOCAL lock_timeout = ${sqlInteger(lockTimeoutMs)}; SET LOCAL statement_timeout = ${sqlInteger(statementTimeoutMs)}; ${fence}`;
  }
  const retry =
    lockTimeoutMs !== baseLockTimeoutMs ? `; SET LOCAL lock_timeout = ${sqlInteger(lockTimeoutMs)}` : '';
  return `SAVEPOINT revisor_step${retry}`;
}

/** What a retried savepoint step runs after its statements: the run's own lock_timeout again. */
export function stepEpilogue(
  kind: 'transaction' | 'savepoint',
  lockTimeoutMs: number,
  baseLockTimeoutMs: number,
): string | null {
  return kind === 'savepoint' && lockTimeoutMs !== baseLockTimeoutMs
    ? `SET LOCAL lock_timeout = ${sqlInteger(baseLockTimeoutMs)}`
    : null;
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

/** Statements joined for one simple-protocol round trip, with where each one starts. */
export function batch(
  prefix: string,
  statements: readonly Statement[],
  suffix: string | null = null,
): { sql: string; offsets: number[] } {
  let sql = prefix;
  const offsets: number[] = [];
  for (const s of statements) {
    sql += ';\n';
    offsets.push(sql.length);
    sql += s.sql;
  }
  if (suffix) sql += `;\n${suffix}`;
  return { sql, offsets };
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
