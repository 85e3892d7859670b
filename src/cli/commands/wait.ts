import { isRevisorError, RevisorError, readHeads, resolveRevision } from '../../migrator/index.js';
import { duration, str } from '../args.js';
import { type Context, connector, loadGraph, tablesFrom } from '../context.js';
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
  const needed = revision.split(',');
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
        if (needed.every((r) => applied.has(r) || heads.includes(r))) {
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
