import type { Statement } from '../ops/statement.js';
import { historyTable, type Tables } from '../sql/bookkeeping.js';
import type { Queryable } from './db.js';

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

export async function insertHistory(db: Queryable, t: Tables, entry: HistoryEntry): Promise<number> {
  const statement = historyInsert(t, entry);
  const { rows } = await db.query<{ id: string }>(statement.sql, statement.params);
  return Number(rows[0]!.id);
}

export async function finishHistory(
  db: Queryable,
  t: Tables,
  id: number,
  outcome: Outcome,
  headsAfter: readonly string[] | null,
  error?: string,
): Promise<void> {
  await db.query(
    `UPDATE ${historyTable(t)} SET outcome = $2, finished_at = clock_timestamp(),
            duration_ms = extract(epoch FROM clock_timestamp() - started_at) * 1000,
            heads_after = coalesce($3, heads_after), error = $4
      WHERE id = $1`,
    [id, outcome, headsAfter?.join(',') ?? null, error ?? null],
  );
}

/**
 * Rows still 'running' when the lock is free again belong to a process that died in a
 * non-transactional step. They are marked 'interrupted' and returned, so the caller can
 * say so; the step itself is not in the version table and runs again.
 */
export async function markInterrupted(
  db: Queryable,
  t: Tables,
): Promise<{ revision: string; startedAt: Date }[]> {
  const { rows } = await db.query<{ revision: string; started_at: Date }>(
    `UPDATE ${historyTable(t)} SET outcome = 'interrupted', finished_at = clock_timestamp()
      WHERE version_table = $1 AND outcome = 'running' RETURNING revision, started_at`,
    [t.versionTable],
  );
  return rows.map((r) => ({ revision: r.revision, startedAt: r.started_at }));
}

export interface HistoryRow {
  id: number;
  revision: string;
  direction: string;
  checksum: string | null;
  startedAt: string;
  finishedAt: string | null;
  durationMs: number | null;
  executedBy: string;
  outcome: Outcome;
  headsAfter: string | null;
  error: string | null;
}

export async function readHistory(db: Queryable, t: Tables, limit = 1000): Promise<HistoryRow[]> {
  const { rows } = await db.query<Record<string, unknown>>(
    `SELECT id, revision, direction, checksum, started_at, finished_at, duration_ms, executed_by, outcome, heads_after, error
       FROM ${historyTable(t)} WHERE version_table = $1 ORDER BY id DESC LIMIT $2`,
    [t.versionTable, limit],
  );
  return rows.map((r) => ({
    id: Number(r['id']),
    revision: String(r['revision']),
    direction: String(r['direction']),
    checksum: (r['checksum'] as string | null) ?? null,
    startedAt: new Date(r['started_at'] as string).toISOString(),
    finishedAt: r['finished_at'] ? new Date(r['finished_at'] as string).toISOString() : null,
    durationMs: r['duration_ms'] === null ? null : Number(r['duration_ms']),
    executedBy: String(r['executed_by']),
    outcome: r['outcome'] as Outcome,
    headsAfter: (r['heads_after'] as string | null) ?? null,
    error: (r['error'] as string | null) ?? null,
  }));
}
