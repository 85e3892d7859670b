import { createHash } from 'node:crypto';
import { isStashStatement } from '../sql/stash-sql.js';
import { type Plan, type Step, statementsOf } from './planner.js';

/**
 * What identifies a plan for an approval: where it starts, and each step's revision,
 * direction and checksum. A new revision, a database that moved or an edited migration
 * gives another hash, and so needs another approval.
 */
export function planHash(plan: Plan): string {
  const facts = [
    plan.direction,
    plan.fromHeads,
    plan.steps.map((s) => [s.revision, s.direction, s.migration.checksum(s.direction)]),
  ];
  return createHash('sha256').update(JSON.stringify(facts)).digest('hex');
}

// Raw SQL that removes data; the op API's destructive calls are known by their stash statements.
const destroysData = /\b(DROP\s+(TABLE|SCHEMA|COLUMN|MATERIALIZED\s+VIEW)|TRUNCATE|DELETE\s+FROM)\b/i;

/**
 * Whether a step may destroy data: every downgrade (it undoes what its upgrade made), and
 * upgrades that drop a table, schema or column, truncate or delete.
 */
export function isDestructive(step: Step): boolean {
  if (step.direction === 'downgrade') return true;
  return statementsOf(step).some((s) =>
    isStashStatement(s) ? Boolean(s.destroys) : destroysData.test(s.sql),
  );
}
