import { dropStash, listStash, stashExists } from '../sql/stash-sql.js';
import type { Queryable } from './db.js';

/** One thing an upgrade stashed so its downgrade can restore it. */
export interface StashEntry {
  readonly revision: string;
  readonly kind: 'table' | 'column';
  readonly schema: string;
  readonly table: string;
  readonly column: string | null;
  readonly createdAt: Date;
  readonly bytes: number;
}

async function hasStash(db: Queryable): Promise<boolean> {
  return (await db.query<{ exists: boolean }>(stashExists.sql)).rows[0]?.exists === true;
}

/** What the database's stash holds (nothing when no upgrade ever stashed). */
export async function listStashEntries(db: Queryable): Promise<StashEntry[]> {
  if (!(await hasStash(db))) return [];
  return (await db.query<StashEntry & Record<string, unknown>>(listStash.sql)).rows;
}

/** Drops a revision's stash: its downgrade can no longer restore that data. Returns how many entries went. */
export async function dropStashOf(db: Queryable, revision: string): Promise<number> {
  if (!(await hasStash(db))) return 0;
  const statement = dropStash(revision);
  return (await db.query<{ dropped: number }>(statement.sql, statement.params)).rows[0]?.dropped ?? 0;
}
