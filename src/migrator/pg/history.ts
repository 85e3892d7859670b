import { RevisorError } from '../errors/errors.js';
import type { Plan, Step } from '../plan/planner.js';
import {
  type AppliedStep,
  type HistoryEntry,
  historyFinish,
  historyInsert,
  historyMarkInterrupted,
  historySelect,
  type Outcome,
  runFinish,
  type Tables,
} from '../sql/bookkeeping.js';

export type { HistoryEntry, Outcome } from '../sql/bookkeeping.js';

import type { Queryable } from './db.js';

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
  const statement = historyFinish(t, id, outcome, headsAfter, error);
  await db.query(statement.sql, statement.params);
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
  const statement = historyMarkInterrupted(t);
  const { rows } = await db.query<{ revision: string; started_at: Date }>(statement.sql, statement.params);
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
  const statement = historySelect(t, limit);
  const { rows } = await db.query<Record<string, unknown>>(statement.sql, statement.params);
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

/**
 * The end of an all-in-one run: the net version-table change and every step's history
 * row, before COMMIT; a version table edited during the run fails it, so nothing commits.
 */
export async function recordRun(
  db: Queryable,
  t: Tables,
  plan: Plan,
  applied: readonly AppliedStep[],
  executedBy: string,
): Promise<void> {
  const statement = runFinish(t, plan.fromHeads, plan.toHeads, applied, executedBy);
  const { rows } = await db.query<{ deleted: number }>(statement.sql, statement.params);
  const leaving = plan.fromHeads.filter((h) => !plan.toHeads.includes(h)).length;
  if (rows[0]?.deleted !== leaving) {
    throw new RevisorError(
      'MigrationFailed',
      `the version table changed during the run: expected to replace ${leaving} row(s) of ${plan.fromHeads.join(', ')}, ` +
        `found ${rows[0]?.deleted ?? 0}; was it edited by hand? Nothing was committed`,
    );
  }
}

/** The audit trail keeps failed attempts too; best effort, the connection may be gone. */
export async function recordFailure(
  db: Queryable,
  t: Tables,
  step: Step,
  error: RevisorError,
  executedBy: string,
): Promise<void> {
  await insertHistory(db, t, {
    revision: step.revision,
    direction: step.direction,
    checksum: null,
    startedAt: new Date(),
    executedBy,
    outcome: 'failed',
    headsAfter: null,
    error: error.message,
  }).catch(() => undefined);
}
