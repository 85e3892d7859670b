import { literal, type Statement } from '../ops/statement.js';

/** A non-negative integer as SQL text: the only values these scripts format themselves. */
export const sqlInteger = (n: number) => String(Math.max(0, Math.trunc(n)));

/**
 * The lock transaction's settings: its lease, and the name it shows in pg_stat_activity
 * for the run (a pooled session serves several resources and is opened under a shared
 * name). Literals, not bind parameters: see pg/lock.ts.
 */
export function lockTransactionSettings(leaseMs: number, applicationName?: string): string {
  const lease = `SET LOCAL idle_in_transaction_session_timeout = ${sqlInteger(leaseMs)}`;
  return applicationName ? `${lease}; SET LOCAL application_name = ${literal(applicationName)}` : lease;
}

/**
 * How a transactional step opens: its transaction, timeouts and the lock's fence (see
 * lock.ts), in one round trip. The timeouts are integers this code formats, not input
 * text; set_config, not SET LOCAL, so they are one statement. Inside the run's single transaction (a savepoint per step) the timeouts and the
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
    return `BEGIN; SELECT set_config('lock_timeout', '${sqlInteger(lockTimeoutMs)}', true), set_config('statement_timeout', '${sqlInteger(statementTimeoutMs)}', true); ${fence}`;
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
