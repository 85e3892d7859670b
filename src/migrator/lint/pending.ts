import type { Queryable } from '../pg/db.js';
import { readTableFacts } from '../pg/table-facts.js';
import type { Step } from '../plan/planner.js';
import { judgeFindings, type Thresholds } from './judge.js';
import { type Finding, lintMigrations } from './lint.js';
import type { RuleName } from './rules/index.js';

/**
 * Lint of what a database would run next, judged by its tables: each finding that depends
 * on a table's size says what it costs there, or that it is harmless there (a small
 * table; a table an earlier pending step creates raises nothing at all).
 */
export async function lintPendingSteps(
  steps: readonly Step[],
  db: Queryable,
  options: { enabled?: ReadonlySet<RuleName>; thresholds: Thresholds },
): Promise<Finding[]> {
  const findings = await lintMigrations(
    steps.filter((s) => s.direction === 'upgrade').map((s) => s.migration),
    { pending: true, ...(options.enabled ? { enabled: options.enabled } : {}) },
  );
  const tables = findings.flatMap((f) => (f.cost ? [f.cost.table] : []));
  if (tables.length === 0) return findings;
  return judgeFindings(findings, await readTableFacts(db, tables), options.thresholds);
}
