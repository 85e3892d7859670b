import { inline, type Statement } from '../ops/statement.js';
import { type Plan, type Step, statementsOf } from '../plan/planner.js';
import { createVersionTable, rowChangeStatement, type Tables } from './bookkeeping.js';

/**
 * The one text form of SQL a person reads: `revisor sql`, `revisor show` and the
 * operator's dry-run plan all render through here. Parameters are inlined as literals,
 * so the text can be reviewed or run by hand; it is never what revisor itself sends.
 */
export const renderStatements = (statements: readonly Statement[]): string =>
  statements.map((s) => `${inline(s)};`).join('\n');

/** A step's own statements, without the version table. */
export const renderStep = (step: Step): string => renderStatements(statementsOf(step));

const headsText = (heads: readonly string[]) => (heads.length ? heads.join(', ') : '<base>');

/** A whole run, version-table statements and transaction boundaries included. */
export function renderPlan(plan: Plan, tables: Tables, allInOne: boolean): string {
  const out: string[] = [];
  out.push(`-- revisor: ${plan.direction} ${headsText(plan.fromHeads)} -> ${headsText(plan.toHeads)}`);
  if (plan.direction === 'upgrade' && plan.fromHeads.length === 0)
    out.push(`${createVersionTable(tables).sql};`);
  if (allInOne) out.push('BEGIN;');
  for (const step of plan.steps) {
    const m = step.migration;
    out.push(
      '',
      `-- ${step.direction} ${headsText(step.headsBefore)} -> ${headsText(step.headsAfter)}: ${m.message} (${m.source})`,
    );
    const own = m.transactional && !allInOne;
    if (!m.transactional) out.push('-- non-transactional: run outside a transaction block');
    if (own) out.push('BEGIN;');
    const statements = [
      ...statementsOf(step),
      ...step.changes.map((change) => rowChangeStatement(tables, change)),
    ];
    if (statements.length > 0) out.push(renderStatements(statements));
    if (own) out.push('COMMIT;');
  }
  if (allInOne) out.push('', 'COMMIT;');
  return out.join('\n');
}
