import { type HistoryEntry, historyInsert } from './history.js';
import type { Statement } from './ops/statement.js';
import type { RowChange } from './version-rows.js';
import { rowChangeStatement, type Tables } from './version-sql.js';

/**
 * How a transactional step opens: the transaction (or savepoint) and its timeouts in
 * one round trip. The timeouts are integers this code formats, not input text.
 */
export function stepPrelude(
  kind: 'transaction' | 'savepoint',
  lockTimeoutMs: number,
  statementTimeoutMs: number,
): string {
  const ms = (n: number) => String(Math.max(0, Math.trunc(n)));
  const open = kind === 'transaction' ? 'BEGIN' : 'SAVEPOINT revisor_step';
  return `${open}; SET LOCAL lock_timeout = ${ms(lockTimeoutMs)}; SET LOCAL statement_timeout = ${ms(statementTimeoutMs)}`;
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
export function batch(prefix: string, statements: readonly Statement[]): { sql: string; offsets: number[] } {
  let sql = prefix;
  const offsets: number[] = [];
  for (const s of statements) {
    sql += ';\n';
    offsets.push(sql.length);
    sql += s.sql;
  }
  return { sql, offsets };
}
