import {
  type HistoryRow,
  isRevisorError,
  plan,
  planForPhase,
  RevisorError,
  readHeads,
  readHistory,
  resolveRevision,
} from '../../migrator/index.js';
import { duration, str } from '../args.js';
import { type Context, connector, tablesFrom } from '../context.js';
import { loadGraph } from '../migrator-context.js';
import { print, printJson } from '../output.js';

/**
 * revisor wait --revision <rev>: for an application's init container. It only reads the
 * version table (no lock, no writes, no Kubernetes permissions) until the database has
 * reached the revision the application needs, and fails clearly at the deadline.
 */
export async function wait(ctx: Context): Promise<number> {
  const wanted = str(ctx.values, 'revision');
  if (!wanted)
    throw new RevisorError(
      'Usage',
      'wait needs --revision <rev> (the revision the application needs, or head)',
    );
  const timeoutMs = duration(str(ctx.values, 'timeout'), 'timeout', 300_000);
  const intervalMs = duration(str(ctx.values, 'interval'), 'interval', 2_000);
  const graph = await loadGraph(ctx.values);
  const revision = wanted === 'head' ? graph.heads.join(',') : resolveRevision(graph, wanted);
  const phase = str(ctx.values, 'phase');
  if (phase !== undefined && phase !== 'pre-deploy' && phase !== 'post-deploy')
    throw new RevisorError('Usage', `--phase is pre-deploy or post-deploy, got "${phase}"`);
  // --phase pre-deploy: what the new version's pods need before they start is the expand
  // part of the chain, not the post-deploy revisions, which run after they roll out.
  const needed =
    phase === 'pre-deploy'
      ? planForPhase(
          plan(graph, [], 'upgrade', revision.includes(',') ? 'heads' : revision),
          'pre-deploy',
        ).plan.steps.map((s) => s.revision)
      : revision.split(',');
  const connect = await connector(ctx);
  const tables = tablesFrom(ctx.values);
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer yet';
  for (;;) {
    try {
      const session = await connect();
      try {
        const heads = await readHeads(session, tables);
        const known = heads.filter((h) => graph.has(h));
        const applied = graph.ancestors(known);
        const reached = (r: string) => applied.has(r) || heads.includes(r);
        // A database ahead of this image (an older image after a rollback) is at heads the
        // image's chain does not know; the history table tells whether what it needs was
        // applied and has not been reverted since.
        const ahead =
          known.length < heads.length && !needed.every(reached)
            ? appliedAndKept(await readHistory(session, tables).catch(() => []))
            : new Set<string>();
        if (needed.every((r) => reached(r) || ahead.has(r))) {
          if (ctx.json) printJson({ reached: true, revision, heads });
          else print(`the database is at ${heads.join(', ')}, which includes ${revision}`);
          return 0;
        }
        last = heads.length
          ? `the database is at ${heads.join(', ')}`
          : 'the database has no revision applied yet';
        if (known.length < heads.length)
          last += ' (a revision this image does not know: is the image older than the database?)';
      } finally {
        await session.end().catch(() => undefined);
      }
    } catch (err) {
      if (!isRevisorError(err, 'ConnectionFailed')) throw err;
      last = err.message;
    }
    if (Date.now() >= deadline || ctx.signal.aborted) break;
    ctx.logger.info({ revision, state: last }, 'waiting for the database to reach the revision');
    await new Promise((r) => setTimeout(r, Math.min(intervalMs, Math.max(0, deadline - Date.now()))));
  }
  throw new RevisorError(
    'WaitTimeout',
    `gave up after ${(timeoutMs / 1000).toFixed(0)}s waiting for revision ${revision}: ${last}; check the migration ` +
      '(its DatabaseMigration status, or the hook Job logs), or raise --timeout',
    { revision, last },
  );
}

/** Revisions whose latest applied step (upgrade, downgrade or stamp) put them in the database. */
function appliedAndKept(rows: readonly HistoryRow[]): Set<string> {
  const latest = new Map<string, HistoryRow>();
  // Newest first: the first applied row of a revision is its latest.
  for (const row of rows)
    if (row.outcome === 'applied' && !latest.has(row.revision)) latest.set(row.revision, row);
  return new Set([...latest.values()].filter((r) => r.direction !== 'downgrade').map((r) => r.revision));
}
