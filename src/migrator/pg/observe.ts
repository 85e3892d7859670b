import type { Session } from '../run/session.js';
import type { Tables } from '../sql/bookkeeping.js';
import { pgCode, sqlState } from './db.js';
import { type HistoryRow, readHistory } from './history.js';
import { readHeads } from './state.js';

export interface DatabaseObservation {
  readonly heads: readonly string[];
  /** History rows started at or after `since`, oldest first; empty without `since`. */
  readonly steps: readonly HistoryRow[];
}

/**
 * What a run in another process (a migration Job) has done so far, read with one short
 * session: the heads, and the history rows since it started. A database never migrated
 * has neither table yet.
 */
export async function observeDatabase(
  connect: () => Promise<Session>,
  tables: Tables,
  since: Date | null,
): Promise<DatabaseObservation> {
  const db = await connect();
  try {
    const heads = await readHeads(db, tables);
    if (!since) return { heads, steps: [] };
    let rows: HistoryRow[] = [];
    try {
      rows = await readHistory(db, tables, 100);
    } catch (err) {
      if (pgCode(err) !== sqlState.undefinedTable) throw err;
    }
    const from = since.toISOString();
    return { heads, steps: rows.filter((r) => r.startedAt >= from).reverse() };
  } finally {
    await db.end().catch(() => undefined);
  }
}
