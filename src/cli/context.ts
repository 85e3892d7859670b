import { type ConnectionOptions, executedBy, hasConnectionConfig } from '../migrator/connection.js';
import { RevisorError } from '../migrator/errors.js';
import { RevisionGraph } from '../migrator/graph.js';
import { embeddedMigrationsDir, loadMigrations } from '../migrator/loader.js';
import { describeHolder } from '../migrator/lock.js';
import { Migrator, type Session } from '../migrator/migrator.js';
import { sessionFactory } from '../migrator/pg-session.js';
import { defaultTables, type Tables } from '../migrator/version-sql.js';
import { count, duration, str, type Values } from './args.js';
import type { Logger } from './logger.js';

export interface Context {
  readonly values: Values;
  readonly positionals: readonly string[];
  readonly env: NodeJS.ProcessEnv;
  readonly logger: Logger;
  readonly signal: AbortSignal;
  readonly json: boolean;
  readonly command: string;
}

export function tablesFrom(values: Values): Tables {
  return {
    schema: str(values, 'version-schema') ?? defaultTables.schema,
    versionTable: str(values, 'version-table') ?? defaultTables.versionTable,
    historyTable: str(values, 'history-table') ?? defaultTables.historyTable,
  };
}

export function migrationsDir(values: Values): string {
  return str(values, 'migrations') ?? embeddedMigrationsDir;
}

export async function loadGraph(values: Values): Promise<RevisionGraph> {
  return RevisionGraph.build(await loadMigrations(migrationsDir(values)));
}

/** Where to connect: the configured database, or the embedded PostgreSQL when none is. */
export async function resolveConnection(ctx: Context): Promise<ConnectionOptions> {
  let url = str(ctx.values, 'database-url');
  if (!hasConnectionConfig({ ...(url ? { url } : {}) }, ctx.env)) {
    const { startEmbedded, defaultEmbeddedDir } = await import('./embedded-postgres.js');
    const server = await startEmbedded(defaultEmbeddedDir(ctx.env));
    ctx.logger.info(
      { dir: server.dir, port: server.port },
      'no database configured: using the embedded PostgreSQL',
    );
    url = server.url;
  }
  const sslCaFile = str(ctx.values, 'ssl-ca');
  return {
    ...(url ? { url } : {}),
    ...(sslCaFile ? { sslCaFile } : {}),
    applicationName: `revisor ${ctx.command}`.slice(0, 63),
    connectTimeoutMs: duration(str(ctx.values, 'connect-timeout'), 'connect-timeout', 10_000),
  };
}

export async function connector(ctx: Context): Promise<() => Promise<Session>> {
  return sessionFactory(await resolveConnection(ctx));
}

/** Migrator settings from the command line and environment. */
export function migratorSettings(ctx: Context) {
  const { values } = ctx;
  const mode = str(values, 'transaction-mode') ?? 'per-migration';
  if (mode !== 'per-migration' && mode !== 'all') {
    throw new RevisorError('Usage', `--transaction-mode is per-migration or all, got "${mode}"`);
  }
  return {
    tables: tablesFrom(values),
    executedBy: executedBy(ctx.env),
    lockWaitMs: duration(str(values, 'lock-wait'), 'lock-wait', 300_000),
    lockTimeoutMs: duration(str(values, 'lock-timeout'), 'lock-timeout', 5_000),
    lockRetries: count(str(values, 'lock-retries'), 'lock-retries', 4),
    lockRetryPauseMs: 1_000,
    statementTimeoutMs: duration(str(values, 'statement-timeout'), 'statement-timeout', 0),
    transactionMode: mode,
    allowChecksumMismatch: values['allow-checksum-mismatch'] === true,
    signal: ctx.signal,
  } as const;
}

/**
 * The first session starts connecting at once, so the server's side of the handshake
 * overlaps reading the migrations; the migrator's first connect() takes it. `discard`
 * closes it when the migrator will never be made.
 */
function primed(open: () => Promise<Session>) {
  let first: Promise<Session> | null = open();
  // Whoever takes the session sees its error; until then it must not be unhandled.
  first.catch(() => undefined);
  return {
    connect: (): Promise<Session> => {
      const session = first ?? open();
      first = null;
      return session;
    },
    discard: async (): Promise<void> => {
      const session = first;
      first = null;
      await session?.then(
        (s) => s.end(),
        () => undefined,
      );
    },
  };
}

/** A migrator for a command that goes to the database first thing. */
export async function createMigrator(ctx: Context): Promise<Migrator> {
  const settings = migratorSettings(ctx);
  const session = primed(await connector(ctx));
  try {
    return migratorWith(ctx, settings, await loadGraph(ctx.values), session.connect);
  } catch (err) {
    await session.discard();
    throw err;
  }
}

export function migratorWith(
  ctx: Context,
  settings: ReturnType<typeof migratorSettings>,
  graph: RevisionGraph,
  connect: () => Promise<Session>,
): Migrator {
  const { logger } = ctx;
  return new Migrator({
    ...settings,
    graph,
    connect,
    events: {
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
      stepStarted: (step) =>
        logger.info(
          { revision: step.revision, direction: step.direction },
          `running ${step.direction} ${step.headsBefore.join(',') || '<base>'} -> ${step.headsAfter.join(',') || '<base>'}, ${step.migration.message}`,
        ),
      stepFinished: (step, result) =>
        logger.debug(
          { revision: step.revision, status: result.status, durationMs: Math.round(result.durationMs) },
          'step finished',
        ),
      stepRetry: (step, attempt, next) =>
        logger.warn(
          { revision: step.revision, attempt, lockTimeoutMs: next },
          'a table lock timed out; retrying the step',
        ),
    },
  });
}
