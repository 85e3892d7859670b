import { readFileSync } from 'node:fs';
import { delimiter, relative } from 'node:path';
import type { Logger } from '../log/logger.js';
import { stepLine } from '../log/text-format.js';
import {
  type BackupSettings,
  blockerEndedMessage,
  type ConnectionOptions,
  defaultTables,
  describeBlocked,
  describeHolder,
  embeddedMigrationsDir,
  executedBy,
  hasConnectionConfig,
  hasPassword,
  indexedHeads,
  libpqEnv,
  loadMigrations,
  Migrator,
  type MigratorEvents,
  RevisionGraph,
  RevisorError,
  readHeads,
  refreshChainIndex,
  runDefaults,
  type Session,
  sessionFactory,
  type Tables,
  tableProblems,
} from '../migrator/index.js';
import { mergeEvents, type RunSpan } from '../telemetry/tracing.js';
import { count, duration, retention, str, type Values } from './args.js';

export interface Context {
  readonly values: Values;
  readonly positionals: readonly string[];
  readonly fromCommandLine: ReadonlySet<string>;
  readonly emptyInEnv: ReadonlySet<string>;
  readonly env: NodeJS.ProcessEnv;
  readonly logger: Logger;
  readonly signal: AbortSignal;
  readonly json: boolean;
  readonly command: string;
  /** The run's span when tracing is on: the migrator's lock-wait and step spans go under it. */
  readonly span?: RunSpan;
  /** What one run resolves once: the connection (starting the embedded server at most once). */
  readonly resolved: { connection?: Promise<ConnectionOptions> };
}

export function tablesFrom(values: Values): Tables {
  const length = str(values, 'version-length');
  const tables = {
    schema: str(values, 'version-schema') ?? defaultTables.schema,
    versionTable: str(values, 'version-table') ?? defaultTables.versionTable,
    historyTable: str(values, 'history-table') ?? defaultTables.historyTable,
    ...(length === undefined ? {} : { versionLength: count(length, 'version-length', 32) }),
  };
  if (tables.versionLength !== undefined && (tables.versionLength < 1 || tables.versionLength > 10_485_760)) {
    throw new RevisorError(
      'Usage',
      `--version-length is between 1 and 10485760, got ${tables.versionLength}`,
    );
  }
  const problems = tableProblems(tables);
  if (problems.length > 0) {
    throw new RevisorError(
      'Usage',
      `${problems.join('; ')} (--version-schema, --version-table, --history-table)`,
    );
  }
  return tables;
}

/**
 * The version locations: --migrations names one or several directories, separated by
 * commas or the platform's path separator, as Alembic's version_locations.
 */
export function migrationLocations(values: Values): string[] {
  const text = str(values, 'migrations');
  if (text === undefined) return [embeddedMigrationsDir];
  const dirs = text
    .split(new RegExp(`[,${delimiter === ';' ? ';' : ':'}]`))
    .map((d) => d.trim())
    .filter(Boolean);
  if (dirs.length === 0) throw new RevisorError('Usage', '--migrations names no directory');
  return dirs;
}

/** The one version location a chain index or a new revision belongs to: the first. */
export function migrationsDir(values: Values): string {
  return migrationLocations(values)[0]!;
}

const recursive = (values: Values) => values['recursive'] === true;

/** Whether the chain is a single, flat location, the only kind a chain index describes. */
export const indexable = (values: Values) => migrationLocations(values).length === 1 && !recursive(values);

export async function loadGraph(values: Values): Promise<RevisionGraph> {
  return RevisionGraph.build(
    await loadMigrations(migrationLocations(values), { recursive: recursive(values) }),
  );
}

/**
 * The database URL from --database-url, DATABASE_URL or --database-url-file. A value
 * that is set but empty is an error, never "nothing configured": an init container whose
 * Secret is empty must fail, not migrate a throwaway database.
 */
function configuredUrl(ctx: Context): string | undefined {
  const { values } = ctx;
  for (const name of ['database-url', 'database-url-file']) {
    if (str(values, name) === '' || (str(values, name) === undefined && ctx.emptyInEnv.has(name))) {
      throw new RevisorError(
        'Usage',
        `--${name} (${name === 'database-url' ? 'DATABASE_URL' : 'REVISOR_DATABASE_URL_FILE'}) is set but empty; ` +
          'check the Secret or variable it comes from, or unset it',
      );
    }
  }
  const file = str(values, 'database-url-file');
  if (file !== undefined) {
    if (str(values, 'database-url') !== undefined)
      throw new RevisorError('Usage', 'give --database-url or --database-url-file, not both');
    let text: string;
    try {
      text = readFileSync(file, 'utf8').trim();
    } catch (err) {
      throw new RevisorError(
        'Usage',
        `cannot read --database-url-file ${file}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`,
      );
    }
    if (text === '')
      throw new RevisorError('Usage', `--database-url-file ${file} is empty; check the Secret mounted there`);
    return text;
  }
  const url = str(values, 'database-url');
  if (url !== undefined && ctx.fromCommandLine.has('database-url') && hasPassword(url)) {
    ctx.logger.warn(
      {},
      'a password in --database-url is visible to every local user in the process list; ' +
        'pass it in DATABASE_URL, PGPASSWORD or --database-url-file instead',
    );
  }
  return url;
}

/** Whether a database is configured (or --embedded asked for); commands that can work without one ask. */
export function databaseConfigured(ctx: Context): boolean {
  const url = configuredUrl(ctx);
  return ctx.values['embedded'] === true || hasConnectionConfig({ ...(url ? { url } : {}) }, ctx.env);
}

/** Where to connect: the configured database, or the embedded PostgreSQL when none is. */
export function resolveConnection(ctx: Context): Promise<ConnectionOptions> {
  ctx.resolved.connection ??= connectionOf(ctx);
  return ctx.resolved.connection;
}

async function connectionOf(ctx: Context): Promise<ConnectionOptions> {
  let url = configuredUrl(ctx);
  const embedded = ctx.values['embedded'] === true;
  if (embedded && url !== undefined)
    throw new RevisorError('Usage', '--embedded and a database URL exclude each other; give one');
  if (embedded || !hasConnectionConfig({ ...(url ? { url } : {}) }, ctx.env)) {
    if (!embedded && ctx.env['KUBERNETES_SERVICE_HOST']) {
      throw new RevisorError(
        'Usage',
        'no database configured (DATABASE_URL, --database-url-file or PGHOST/PGDATABASE), and in a cluster revisor ' +
          'does not fall back to its embedded PostgreSQL; set the connection, or pass --embedded to ask for it',
      );
    }
    const { startEmbedded, defaultEmbeddedDir } = await import('./embedded-postgres.js');
    const server = await startEmbedded(defaultEmbeddedDir(ctx.env));
    // Said once, by the command that starts the server: where the data is, and that it stays up.
    // Later commands find it running and say nothing ("revisor embedded" shows it).
    (server.started ? ctx.logger.warn : ctx.logger.debug).call(
      ctx.logger,
      {},
      `no database configured: started the embedded PostgreSQL in ${relative(process.cwd(), server.dir) || server.dir} ` +
        `(127.0.0.1:${server.port}); it keeps running for the next command: "revisor embedded stop" stops it`,
    );
    url = server.url;
  }
  const sslCaFile = str(ctx.values, 'ssl-ca');
  return {
    ...(url ? { url } : {}),
    ...(sslCaFile ? { sslCaFile } : {}),
    ...(ctx.values['refuse-insecure-auth'] === true ? { refuseInsecureAuth: true } : {}),
    applicationName: `revisor ${ctx.command}`.slice(0, 63),
    connectTimeoutMs: duration(str(ctx.values, 'connect-timeout'), 'connect-timeout', 10_000),
  };
}

export async function connector(ctx: Context): Promise<() => Promise<Session>> {
  return sessionFactory(await resolveConnection(ctx));
}

function positiveDuration(text: string | undefined, name: string, fallbackMs: number): number {
  const ms = duration(text, name, fallbackMs);
  if (ms < 1000) throw new RevisorError('Usage', `--${name} must be at least 1s, got "${text}"`);
  return ms;
}

/** --schemas: the schemas a snapshot covers; undefined for every user schema. */
export const schemasOf = (values: Values): readonly string[] | undefined =>
  str(values, 'schemas')
    ?.split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');

/** Connection options for a URL given to a command (a reference or scratch server). */
export const urlConnection = (ctx: Context, url: string): ConnectionOptions => ({
  url,
  applicationName: `revisor ${ctx.command}`.slice(0, 63),
  connectTimeoutMs: duration(str(ctx.values, 'connect-timeout'), 'connect-timeout', 10_000),
});

/** Migrator settings from the command line and environment. */
export function migratorSettings(ctx: Context) {
  const { values } = ctx;
  const mode = str(values, 'transaction-mode') ?? 'per-migration';
  if (mode !== 'per-migration' && mode !== 'all') {
    throw new RevisorError('Usage', `--transaction-mode is per-migration or all, got "${mode}"`);
  }
  const batching = str(values, 'batch') ?? 'adaptive';
  if (batching !== 'adaptive' && batching !== 'off') {
    throw new RevisorError('Usage', `--batch is adaptive or off, got "${batching}"`);
  }
  return {
    tables: tablesFrom(values),
    batching,
    executedBy: executedBy(ctx.env),
    lockWaitMs: duration(str(values, 'lock-wait'), 'lock-wait', runDefaults.lockWaitMs),
    lockLeaseMs: positiveDuration(str(values, 'lock-lease'), 'lock-lease', runDefaults.lockLeaseMs),
    connectTimeoutMs: duration(
      str(values, 'connect-timeout'),
      'connect-timeout',
      runDefaults.connectTimeoutMs,
    ),
    lockTimeoutMs: duration(str(values, 'lock-timeout'), 'lock-timeout', runDefaults.lockTimeoutMs),
    lockRetries: count(str(values, 'lock-retries'), 'lock-retries', runDefaults.lockRetries),
    lockRetryPauseMs: runDefaults.lockRetryPauseMs,
    statementTimeoutMs: duration(
      str(values, 'statement-timeout'),
      'statement-timeout',
      runDefaults.statementTimeoutMs,
    ),
    blockers: {
      reportAfterMs: duration(
        str(values, 'report-blockers-after'),
        'report-blockers-after',
        runDefaults.reportBlockersAfterMs,
      ),
      cancelAfterMs: str(values, 'cancel-blockers-after')
        ? duration(str(values, 'cancel-blockers-after'), 'cancel-blockers-after', 0)
        : null,
      terminate: values['terminate-blockers'] === true,
    },
    transactionMode: mode,
    allowChecksumMismatch: values['allow-checksum-mismatch'] === true,
    recordSchema: values['record-schema'] !== false,
    stash: values['stash'] !== false,
    stashRetentionMs: retention(str(values, 'stash-retention'), 'stash-retention', 7 * 86_400_000),
    ...(schemasOf(values) ? { schemas: schemasOf(values)! } : {}),
    signal: ctx.signal,
  } as const;
}

/**
 * The first session starts connecting at once, so the server's side of the handshake
 * overlaps reading the migrations; the migrator's first connect() takes it. `peek` uses
 * it without taking it; `discard` closes it when the migrator will never be made.
 */
function primed(open: () => Promise<Session>) {
  let first: Promise<Session> | null = open();
  // Whoever takes the session sees its error; until then it must not be unhandled.
  first.catch(() => undefined);
  return {
    peek: (): Promise<Session> => {
      first ??= open();
      return first;
    },
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
/** --backup: where dumps go, the pg_dump to run, and libpq's environment for this connection. */
async function withBackup(ctx: Context, settings: MigratorSettings): Promise<MigratorSettings> {
  const dir = str(ctx.values, 'backup');
  if (!dir) return settings;
  const pgDump = str(ctx.values, 'pg-dump') ?? 'pg_dump';
  return { ...settings, backup: { dir, pgDump, env: libpqEnv(await resolveConnection(ctx)) } };
}

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
 * `upgrade head` (or `heads`): when the chain index (chain/index-file.ts) is current and
 * its heads are the database's, the answer is "nothing to do" without loading the chain.
 * Otherwise the migrator, on the session already opened, and the index brought up to date
 * for the next run.
 */
export async function createUpgrader(
  ctx: Context,
  target: string,
): Promise<{ readonly upToDate: readonly string[] } | { readonly migrator: Migrator }> {
  const settings = migratorSettings(ctx);
  const session = primed(await connector(ctx));
  try {
    const dir =
      (target === 'head' || target === 'heads') && indexable(ctx.values) ? migrationsDir(ctx.values) : null;
    const index = dir ? await indexedHeads(dir) : null;
    if (index && (target === 'heads' || index.versionedHeads.length === 1)) {
      const current = await readHeads(await session.peek(), settings.tables);
      if (current.join(',') === [...index.heads].sort().join(',')) {
        await session.discard();
        return { upToDate: current };
      }
    }
    const graph = await loadGraph(ctx.values);
    if (dir && !index) await refreshChainIndex(dir, graph);
    return { migrator: migratorWith(ctx, await withBackup(ctx, settings), graph, session.connect) };
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
