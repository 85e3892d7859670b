import {
  inline,
  type RevisionGraph,
  RevisorError,
  readHistory,
  renderStatements,
  resolveRevision,
  resolveTarget,
} from '../../migrator/index.js';
import { type Context, connector, tablesFrom } from '../context.js';
import { createMigrator, loadGraph } from '../migrator-context.js';
import { label, print, printJson } from '../output.js';

function describe(graph: RevisionGraph, id: string) {
  const m = graph.get(id);
  return {
    revision: id,
    downRevisions: m.downRevisions,
    dependsOn: m.dependsOn,
    branchLabels: graph.labels(id),
    children: graph.children(id),
    message: m.message,
    createDate: m.createDate,
    transactional: m.transactional,
    source: m.source,
    isHead: graph.heads.includes(id),
  };
}

export async function current(ctx: Context): Promise<number> {
  const migrator = await createMigrator(ctx);
  try {
    const heads = await migrator.current();
    if (ctx.json)
      printJson({ heads, atHead: heads.length > 0 && heads.every((h) => migrator.graph.heads.includes(h)) });
    else if (heads.length === 0)
      // stdout stays as Alembic's (nothing at base); the person reading learns why.
      ctx.logger.info(
        {},
        'no revision applied yet (the database is at base); "revisor upgrade head" applies the chain',
      );
    else for (const h of heads) print(label(migrator.graph, h));
    return 0;
  } finally {
    await migrator.close();
  }
}

/**
 * The heads: revisions no revision names as its down revision, as `alembic heads` lists
 * them; with --resolve-dependencies, without those only others' depends_on name.
 */
export async function heads(ctx: Context): Promise<number> {
  const graph = await loadGraph(ctx.values);
  const ids = ctx.values['resolve-dependencies'] ? graph.heads : graph.versionedHeads;
  if (ctx.json) printJson({ heads: ids.map((h) => describe(graph, h)) });
  else for (const h of ids) print(label(graph, h));
  return 0;
}

/** Branch points and the revisions they branch into, newest first, as `alembic branches` prints them. */
export async function branches(ctx: Context): Promise<number> {
  const graph = await loadGraph(ctx.values);
  const points = graph
    .ordered()
    .reverse()
    .filter((id) => graph.children(id).length > 1);
  if (ctx.json) {
    printJson({ branches: points.map((id) => ({ ...describe(graph, id), children: graph.children(id) })) });
    return 0;
  }
  for (const id of points) {
    print(`${label(graph, id)}, ${graph.get(id).message}`);
    for (const child of graph.children(id))
      print(`${' '.repeat(id.length)} -> ${label(graph, child)}, ${graph.get(child).message}`);
  }
  return 0;
}

/** Revisions between `start:end` (either side may be empty, base, head or heads), newest first. */
function inRange(graph: RevisionGraph, range: string | undefined): string[] {
  let ids = graph.ordered();
  if (range) {
    const [start, end, extra] = range.split(':');
    if (extra !== undefined || end === undefined)
      throw new RevisorError('Usage', '-r takes start:end, e.g. base:head');
    if (start) {
      const from = resolveTarget(graph, start, []);
      const above = graph.descendants(from);
      ids = ids.filter((id) => above.has(id));
    }
    if (end) {
      const below = graph.ancestors(resolveTarget(graph, end, []));
      ids = ids.filter((id) => below.has(id));
    }
  }
  return ids.reverse();
}

export async function history(ctx: Context): Promise<number> {
  if (ctx.values['audit']) return auditHistory(ctx);
  const graph = await loadGraph(ctx.values);
  const ids = inRange(graph, ctx.values['rev-range'] as string | undefined);
  if (ctx.json) {
    printJson({ revisions: ids.map((id) => describe(graph, id)) });
    return 0;
  }
  for (const id of ids) {
    const m = graph.get(id);
    const downs = m.downRevisions.length ? m.downRevisions.join(', ') : '<base>';
    const from = m.dependsOn.length ? `${downs} (${m.dependsOn.join(', ')})` : downs;
    if (!ctx.values['verbose']) {
      print(`${from} -> ${label(graph, id)}, ${m.message}`);
      continue;
    }
    print(`Rev: ${label(graph, id)}`);
    print(`Parent: ${from}`);
    if (graph.children(id).length) print(`Branches into: ${graph.children(id).join(', ')}`);
    print(`Path: ${m.source}`);
    print('');
    print(`    ${m.message}`);
    print('');
    if (m.createDate) print(`    Create Date: ${m.createDate}`);
    print(`    Transactional: ${m.transactional}`);
    print('');
  }
  return 0;
}

async function auditHistory(ctx: Context): Promise<number> {
  const session = await (await connector(ctx))();
  try {
    const rows = await readHistory(session, tablesFrom(ctx.values));
    if (ctx.json) printJson({ history: rows });
    else
      for (const r of rows) {
        const took = r.durationMs === null ? '' : ` in ${r.durationMs.toFixed(1)}ms`;
        print(
          `${r.startedAt}  ${r.direction.padEnd(9)} ${r.revision}  ${r.outcome}${took}  by ${r.executedBy}`,
        );
      }
    return 0;
  } finally {
    await session.end();
  }
}

export async function show(ctx: Context): Promise<number> {
  const [text] = ctx.positionals;
  if (!text) throw new RevisorError('Usage', 'show needs a revision');
  const graph = await loadGraph(ctx.values);
  const ids =
    text === 'head' || text === 'heads' || text.includes('@')
      ? resolveTarget(graph, text, [])
      : [resolveRevision(graph, text)];
  for (const id of ids) {
    const m = graph.get(id);
    const up = m.upgrade();
    const down = m.downgrade();
    if (ctx.json) {
      printJson({
        ...describe(graph, id),
        checksum: m.checksum('upgrade'),
        upgrade: up.map(inline),
        downgrade: down.map(inline),
      });
      continue;
    }
    print(`Rev: ${label(graph, id)}`);
    print(`Parent: ${m.downRevisions.join(', ') || '<base>'}`);
    print(`Message: ${m.message}`);
    if (m.createDate) print(`Create Date: ${m.createDate}`);
    print(`Path: ${m.source}`);
    print(`Transactional: ${m.transactional}`);
    print(`Checksum: ${m.checksum('upgrade')}`);
    print('\n-- upgrade');
    if (up.length > 0) print(renderStatements(up));
    print('\n-- downgrade');
    if (down.length > 0) print(renderStatements(down));
  }
  return 0;
}
