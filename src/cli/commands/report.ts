import { executedBy, type RunResult } from '../../migrator/index.js';
import { str } from '../args.js';
import type { Context } from '../context.js';
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
