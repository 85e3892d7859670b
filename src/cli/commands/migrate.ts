import { executedBy, type Phase, phases, RevisorError, type RunResult } from '../../migrator/index.js';
import { str } from '../args.js';
import type { Context } from '../context.js';
import { createMigrator, createUpgrader } from '../context.js';
import { errorJson, headsText, print, printJson, reportError } from '../output.js';

/** Pushes the run's metrics when --pushgateway-url is set; a push failure is logged, never fatal. */
async function push(ctx: Context, result: RunResult): Promise<void> {
  const url = str(ctx.values, 'pushgateway-url');
  if (!url) return;
  const { pushRunMetrics } = await import('../pushgateway.js');
  const heads = result.plan && !result.error ? result.plan.toHeads : (result.plan?.fromHeads ?? []);
  await pushRunMetrics(url, { command: ctx.command, instance: executedBy(ctx.env), result, heads }).catch(
    (err: Error) => ctx.logger.warn({ err: err.message }, 'could not push metrics to the Pushgateway'),
  );
}

export async function report(ctx: Context, result: RunResult, verb: string): Promise<number> {
  await push(ctx, result);
  const applied = result.results.filter((r) => r.status === 'applied');
  if (ctx.json) {
    printJson({
      command: ctx.command,
      from: result.plan?.fromHeads ?? null,
      to: result.error ? null : (result.plan?.toHeads ?? null),
      steps: result.results.map((r) => ({ ...r, durationMs: Math.round(r.durationMs * 10) / 10 })),
      lockWaitMs: result.lockWaitMs,
      ...(result.held?.length ? { heldForPostDeploy: result.held } : {}),
      ...(result.error ? { error: errorJson(result.error) } : {}),
    });
  } else if (!result.error) {
    if (applied.length === 0)
      print(`nothing to do: the database is at ${headsText(result.plan?.toHeads ?? [])}`);
    else
      print(
        `${verb} ${applied.length} revision(s); the database is now at ${headsText(result.plan!.toHeads)}`,
      );
    if (result.held?.length) {
      print(
        `stopped before post-deploy revision ${result.held[0]} (${result.held.length} revision(s) wait): ` +
          'run "revisor upgrade --phase post-deploy" once the new application version is rolled out',
      );
    }
  }
  return result.error ? reportError(result.error) : 0;
}

export async function upgrade(ctx: Context): Promise<number> {
  const [target = 'head', extra] = ctx.positionals;
  if (extra) throw new RevisorError('Usage', 'upgrade takes one target');
  const phase = str(ctx.values, 'phase') ?? 'post-deploy';
  if (!phases.includes(phase as Phase))
    throw new RevisorError('Usage', `--phase is ${phases.join(' or ')}, got "${phase}"`);
  const prepared = await createUpgrader(ctx, target);
  if ('upToDate' in prepared) {
    const plan = {
      direction: 'upgrade' as const,
      fromHeads: prepared.upToDate,
      toHeads: prepared.upToDate,
      steps: [],
    };
    return report(ctx, { plan, results: [], lockWaitMs: 0 }, 'applied');
  }
  const { migrator } = prepared;
  try {
    return await report(ctx, await migrator.upgrade(target, { phase: phase as Phase }), 'applied');
  } finally {
    await migrator.close();
  }
}

export async function downgrade(ctx: Context): Promise<number> {
  const [target, extra] = ctx.positionals;
  if (!target || extra) {
    throw new RevisorError('Usage', 'downgrade needs exactly one target, e.g. -1, base or a revision id');
  }
  const migrator = await createMigrator(ctx);
  try {
    return await report(ctx, await migrator.downgrade(target), 'reverted');
  } finally {
    await migrator.close();
  }
}

export async function stamp(ctx: Context): Promise<number> {
  if (ctx.positionals.length === 0) throw new RevisorError('Usage', 'stamp needs one or more targets');
  const migrator = await createMigrator(ctx);
  try {
    return await report(
      ctx,
      await migrator.stamp(ctx.positionals, { purge: ctx.values['purge'] === true }),
      'stamped',
    );
  } finally {
    await migrator.close();
  }
}

/** Creates the version table (and revisor's history table) and does nothing else, as `alembic ensure_version`. */
export async function ensureVersion(ctx: Context): Promise<number> {
  if (ctx.positionals.length > 0) throw new RevisorError('Usage', 'ensure-version takes no arguments');
  const migrator = await createMigrator(ctx);
  try {
    const result = await migrator.ensureVersion();
    if (result.error) return reportError(result.error);
    if (ctx.json) printJson({ command: ctx.command, ensured: true });
    else print('the version table exists');
    return 0;
  } finally {
    await migrator.close();
  }
}
