import { type Phase, RevisorError } from '../../migrator/index.js';
import type { Context, PrimedSession } from '../context.js';
import { createMigrator, type MigratorSettings, upgraderOn } from '../migrator-context.js';
import { print, printJson, reportError } from '../output.js';
import { report } from './report.js';

/**
 * The upgrade the chain index could not answer (commands/upgrade.ts), on the session it
 * opened.
 */
export async function upgradeOn(
  ctx: Context,
  target: string,
  phase: Phase,
  settings: MigratorSettings,
  session: PrimedSession,
  staleIndexIn: string | null,
): Promise<number> {
  const migrator = await upgraderOn(ctx, settings, session, staleIndexIn);
  try {
    return await report(ctx, await migrator.upgrade(target, { phase }), 'applied');
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
