import {
  createVersionTable,
  type Direction,
  inline,
  type Plan,
  plan,
  type RevisionGraph,
  RevisorError,
  resolveTarget,
  rowChangeStatement,
  statementsOf,
  type Tables,
} from '../../migrator/index.js';
import { type Context, loadGraph, tablesFrom } from '../context.js';
import { headsText, print } from '../output.js';

/**
 * The SQL a run would execute, version-table statements included, for review or for a
 * DBA to apply by hand. Touches no database: the starting point comes from `from:`.
 */
export function renderOffline(plan: Plan, tables: Tables, allInOne: boolean): string {
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
    for (const s of statementsOf(step)) out.push(`${inline(s)};`);
    for (const change of step.changes) out.push(`${inline(rowChangeStatement(tables, change))};`);
    if (own) out.push('COMMIT;');
  }
  if (allInOne) out.push('', 'COMMIT;');
  return out.join('\n');
}

function fromHeads(graph: RevisionGraph, text: string): string[] {
  if (text === '' || text === 'base') return [];
  return text.split(',').flatMap((part) => [...resolveTarget(graph, part, [])]);
}

export async function offlineSql(ctx: Context): Promise<number> {
  const [direction, range, extra] = ctx.positionals;
  if ((direction !== 'upgrade' && direction !== 'downgrade') || !range || extra) {
    throw new RevisorError(
      'Usage',
      'sql takes upgrade|downgrade and a target or from:to, e.g. "sql upgrade base:head"',
    );
  }
  const graph = await loadGraph(ctx.values);
  const parts = range.split(':');
  if (parts.length > 2) throw new RevisorError('Usage', `"${range}" is not a target or from:to`);
  if (direction === 'downgrade' && parts.length !== 2) {
    throw new RevisorError('Usage', 'offline downgrade needs from:to, e.g. "sql downgrade head:base"');
  }
  const from = parts.length === 2 ? fromHeads(graph, parts[0]!) : [];
  const target = parts[parts.length - 1]!;
  const planned = plan(graph, from, direction as Direction, target);
  const allInOne = ctx.values['transaction-mode'] === 'all';
  print(renderOffline(planned, tablesFrom(ctx.values), allInOne));
  return 0;
}
