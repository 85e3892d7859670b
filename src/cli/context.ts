import { readFileSync } from 'node:fs';
import { delimiter, relative } from 'node:path';
import type { Logger } from '../log/logger.js';
import {
  type ConnectionOptions,
  defaultTables,
  embeddedMigrationsDir,
  executedBy,
  hasConnectionConfig,
  hasPassword,
  indexedHeads,
  RevisorError,
  readHeads,
  runDefaults,
  type Session,
  sessionFactory,
  type Tables,
  tableProblems,
} from '../migrator/index.js';
import type { RunSpan } from '../telemetry/tracing.js';
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

export const recursive = (values: Values) => values['recursive'] === true;

/** Whether the chain is a single, flat location, the only kind a chain index describes. */
export const indexable = (values: Values) => migrationLocations(values).length === 1 && !recursive(values);

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
export function primed(open: () => Promise<Session>) {
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
      // The CLI exits next: nothing gains from waiting for the server's close.
      await session?.then(
        (s) => s.end({ waitForServer: false }),
        () => undefined,
      );
    },
  };
}

export type PrimedSession = ReturnType<typeof primed>;

/**
 * `upgrade head` (or `heads`): the database's heads when the chain index
 * (chain/index-file.ts) is current and names the same, so the answer is "nothing to do"
 * without loading the chain; null otherwise, with `staleIndexIn` naming the directory
 * whose index the run that loads the chain should rewrite.
 */
export async function headsWhenIndexed(
  ctx: Context,
  target: string,
  tables: Tables,
  session: PrimedSession,
): Promise<{ readonly current: readonly string[] | null; readonly staleIndexIn: string | null }> {
  const dir =
    (target === 'head' || target === 'heads') && indexable(ctx.values) ? migrationsDir(ctx.values) : null;
  // The session's socket connects on the next tick and writes its startup message when it
  // is connected: one turn of the event loop lets both go out before the index's
  // synchronous checks (a stat per revision file when unsealed), so the server forks its
  // backend meanwhile instead of after them.
  await new Promise((resolve) => setImmediate(resolve));
  const index = dir ? await indexedHeads(dir) : null;
  const staleIndexIn = index ? null : dir;
  if (!index || (target !== 'heads' && index.versionedHeads.length !== 1))
    return { current: null, staleIndexIn };
  const current = await readHeads(await session.peek(), tables);
  const same = current.join(',') === [...index.heads].sort().join(',');
  return { current: same ? current : null, staleIndexIn };
}
