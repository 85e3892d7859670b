import type { Migration } from '../chain/migration.js';
import type { Queryable } from '../pg/db.js';
import { type Plan, statementsOf } from '../plan/planner.js';
import { expireStash, installStash, isStashStatement, stashExists } from '../sql/stash-sql.js';

/** The plan with no stashing or restoring: `--no-stash`. Checksums stay the migrations' own. */
export function withoutStash(plan: Plan): Plan {
  const strip = (m: Migration): Migration => ({
    ...m,
    upgrade: () => m.upgrade().filter((s) => !isStashStatement(s)),
    downgrade: () => m.downgrade().filter((s) => !isStashStatement(s)),
    hasDowngrade: () => m.hasDowngrade(),
    checksum: (direction) => m.checksum(direction),
  });
  return Object.freeze({
    ...plan,
    steps: Object.freeze(
      plan.steps.map((step) => Object.freeze({ ...step, migration: strip(step.migration) })),
    ),
  });
}

/**
 * Before a run: the stash's functions when a step stashes or restores, and entries older
 * than the retention dropped. Outside the steps' transactions, under the migration lock.
 */
export async function prepareStash(db: Queryable, plan: Plan, retentionMs: number): Promise<void> {
  if (plan.steps.some((step) => statementsOf(step).some(isStashStatement))) await db.query(installStash);
  const { rows } = await db.query<{ exists: boolean }>(stashExists.sql);
  if (rows[0]?.exists) await db.query(expireStash(retentionMs).sql);
}
