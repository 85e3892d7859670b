/**
 * The migrator and the chain, for the commands that need them. Kept apart from context.ts
 * (the run's options and its connection) so the init container's no-op, which needs only
 * those, does not load the migrator: see rolldown.config.mjs.
 */
import { stepLine } from '../log/text-format.js';
import {
  type BackupSettings,
  blockerEndedMessage,
  describeBlocked,
  describeHolder,
  libpqEnv,
  loadMigrations,
  Migrator,
  type MigratorEvents,
  RevisionGraph,
  refreshChainIndex,
  type Session,
} from '../migrator/index.js';
import { mergeEvents } from '../telemetry/tracing.js';
import { str, type Values } from './args.js';
import {
  type Context,
  connector,
  migrationLocations,
  migratorSettings,
  type PrimedSession,
  primed,
  recursive,
  resolveConnection,
} from './context.js';

export async function loadGraph(values: Values): Promise<RevisionGraph> {
  return RevisionGraph.build(
    await loadMigrations(migrationLocations(values), { recursive: recursive(values) }),
  );
}

/** --backup: where dumps go, the pg_dump to run, and libpq's environment for this connection. */
async function withBackup(ctx: Context, settings: MigratorSettings): Promise<MigratorSettings> {
  const dir = str(ctx.values, 'backup');
  if (!dir) return settings;
  const pgDump = str(ctx.values, 'pg-dump') ?? 'pg_dump';
  return { ...settings, backup: { dir, pgDump, env: libpqEnv(await resolveConnection(ctx)) } };
}

/** A migrator for a command that goes to the database first thing. */
export async function createMigrator(ctx: Context): Promise<Migrator> {
  const settings = await withBackup(ctx, migratorSettings(ctx));
  const session = primed(await connector(ctx));
  try {
    return migratorWith(ctx, settings, await loadGraph(ctx.values), session.connect);
  } catch (err) {
    await session.discard();
    throw err;
  }
}

/**
 * The migrator for an upgrade the chain index could not answer (context.ts,
 * `headsWhenIndexed`), on the session already opened; the index is brought up to date for
 * the next run when it was missing or stale.
 */
export async function upgraderOn(
  ctx: Context,
  settings: MigratorSettings,
  session: PrimedSession,
  staleIndexIn: string | null,
): Promise<Migrator> {
  try {
    const graph = await loadGraph(ctx.values);
    if (staleIndexIn) await refreshChainIndex(staleIndexIn, graph);
    return migratorWith(ctx, await withBackup(ctx, settings), graph, session.connect);
  } catch (err) {
    await session.discard();
    throw err;
  }
}

export type MigratorSettings = ReturnType<typeof migratorSettings> & { readonly backup?: BackupSettings };

export function migratorWith(
  ctx: Context,
  settings: MigratorSettings,
  graph: RevisionGraph,
  connect: () => Promise<Session>,
): Migrator {
  const { logger } = ctx;
  // A line per batch would drown the log: one every few seconds, and the last.
  let lastProgressLog = 0;
  return new Migrator({
    ...settings,
    graph,
    connect,
    events: mergeEvents(loggingEvents(), ctx.span?.events),
  });

  function loggingEvents(): MigratorEvents {
    return {
      backfillProgress: (step, p) => {
        const now = Date.now();
        if (now - lastProgressLog < 2000) return;
        lastProgressLog = now;
        const percent =
          p.estimatedRows > 0
            ? ` (~${Math.min(100, Math.round((100 * p.rowsDone) / p.estimatedRows))}%)`
            : '';
        logger.info(
          {
            revision: step.revision,
            table: p.table,
            rowsDone: p.rowsDone,
            estimatedRows: p.estimatedRows,
            batches: p.batches,
          },
          `backfill of ${p.table}: ${p.rowsDone} of ~${p.estimatedRows} rows${percent}`,
        );
      },
      lockWaiting: (holder, waitedMs) =>
        logger.warn(
          { holder, waitedMs },
          `waiting for the migration lock, held by ${describeHolder(holder)}`,
        ),
      lockAcquired: (waitedMs) => logger.debug({ waitedMs }, 'migration lock acquired'),
      interrupted: (rows) =>
        logger.warn(
          { revisions: rows.map((r) => r.revision) },
          'a previous run died inside a non-transactional step; it was marked interrupted and runs again',
        ),
      // A person reads one aligned line per step, when it ends, with its duration; a machine
      // gets the start (a step can run for hours) and the end as two events.
      stepStarted: (step) =>
        (logger.readable ? logger.debug : logger.info).call(
          logger,
          { revision: step.revision, direction: step.direction },
          `running ${step.direction} ${step.headsBefore.join(',') || '<base>'} -> ${step.headsAfter.join(',') || '<base>'}, ${step.migration.message}`,
        ),
      stepFinished: (step, result) =>
        logger.readable
          ? logger.info(
              {},
              stepLine(
                step.direction,
                step.headsBefore,
                step.headsAfter,
                step.migration.message,
                result.status,
                result.durationMs,
              ),
            )
          : logger.debug(
              { revision: step.revision, status: result.status, durationMs: Math.round(result.durationMs) },
              'step finished',
            ),
      invalidIndexDropped: (step, index) =>
        logger.warn(
          { revision: step.revision, index },
          `dropped INVALID index ${index}, left by an interrupted build of ${step.revision}; building it again`,
        ),
      stepRetry: (step, attempt, next) =>
        logger.warn(
          { revision: step.revision, attempt, lockTimeoutMs: next },
          'a table lock timed out; retrying the step',
        ),
      stepBlocked: (step, blocked, blockedMs) =>
        logger.warn(
          { revision: step.revision, blockedMs, blockers: blocked.blockers },
          `${step.revision} ${describeBlocked(blocked)}`,
        ),
      stepUnblocked: (step, blockedMs) =>
        logger.info(
          { revision: step.revision, blockedMs },
          `${step.revision} went on ${(blockedMs / 1000).toFixed(1)}s after its blockers were first seen`,
        ),
      blockerEnded: (step, blocker, action) =>
        (action === 'not-permitted' || action === 'left' ? logger.warn : logger.info).call(
          logger,
          { revision: step.revision, pid: blocker.pid, action },
          blockerEndedMessage(step.revision, blocker, action),
        ),
    };
  }
}
