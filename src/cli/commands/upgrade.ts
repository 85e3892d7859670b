import { type Phase, phases, RevisorError } from '../../migrator/index.js';
import { str } from '../args.js';
import { type Context, connector, headsWhenIndexed, migratorSettings, primed } from '../context.js';
import { report } from './report.js';

/**
 * `revisor upgrade`, what every init container runs at every pod start. At the head, the
 * chain index answers on the session opened for it and the migrator is never loaded: this
 * module and what it imports stay out of the migrator's chunk (rolldown.config.mjs).
 */
export async function upgrade(ctx: Context): Promise<number> {
  const [target = 'head', extra] = ctx.positionals;
  if (extra) throw new RevisorError('Usage', 'upgrade takes one target');
  const phase = str(ctx.values, 'phase') ?? 'post-deploy';
  if (!phases.includes(phase as Phase))
    throw new RevisorError('Usage', `--phase is ${phases.join(' or ')}, got "${phase}"`);
  const settings = migratorSettings(ctx);
  const session = primed(await connector(ctx));
  let indexed: Awaited<ReturnType<typeof headsWhenIndexed>>;
  try {
    indexed = await headsWhenIndexed(ctx, target, settings.tables, session);
  } catch (err) {
    await session.discard();
    throw err;
  }
  if (indexed.current) {
    await session.discard();
    const plan = {
      direction: 'upgrade' as const,
      fromHeads: indexed.current,
      toHeads: indexed.current,
      steps: [],
    };
    return report(ctx, { plan, results: [], lockWaitMs: 0 }, 'applied');
  }
  const { upgradeOn } = await import('./migrate.js');
  return upgradeOn(ctx, target, phase as Phase, settings, session, indexed.staleIndexIn);
}
