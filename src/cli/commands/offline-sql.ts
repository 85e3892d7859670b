import {
  type Direction,
  plan,
  type RevisionGraph,
  RevisorError,
  renderPlan,
  resolveTarget,
} from '../../migrator/index.js';
import { type Context, tablesFrom } from '../context.js';
import { loadGraph } from '../migrator-context.js';
import { print } from '../output.js';

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
  print(renderPlan(planned, tablesFrom(ctx.values), allInOne));
  return 0;
}
