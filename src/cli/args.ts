import { type ParseArgsConfig, parseArgs } from 'node:util';
import { RevisorError } from '../migrator/index.js';

/** Options every command accepts; each has an environment variable for Jobs and init containers. */
export const globalOptions = {
  migrations: {
    type: 'string',
    env: 'REVISOR_MIGRATIONS',
    help: 'migrations directory, or several separated by , or : (default: the embedded chain)',
  },
  recursive: {
    type: 'boolean',
    env: 'REVISOR_RECURSIVE',
    help: "read the migration directories' subdirectories too (Alembic's recursive_version_locations)",
  },
  'database-url': {
    type: 'string',
    env: 'DATABASE_URL',
    help: 'postgres://… (else PG* variables, else embedded); on the command line a password shows in ps',
  },
  'database-url-file': {
    type: 'string',
    env: 'REVISOR_DATABASE_URL_FILE',
    help: 'a file holding the database URL (a mounted Secret)',
  },
  embedded: {
    type: 'boolean',
    env: 'REVISOR_EMBEDDED',
    help: 'use the embedded PostgreSQL (default only when nothing is configured, never in a cluster)',
  },
  'ssl-ca': { type: 'string', env: 'REVISOR_SSL_CA', help: 'CA bundle to verify the server with' },
  'refuse-insecure-auth': {
    type: 'boolean',
    env: 'REVISOR_REFUSE_INSECURE_AUTH',
    help: 'refuse a server that asks for a cleartext or MD5 password (operator Jobs set it unless the Secret allows it)',
  },
  schemas: {
    type: 'string',
    env: 'REVISOR_SCHEMAS',
    help: 'the schemas a snapshot, diff or drift covers, comma-separated (default: every user schema)',
  },
  stash: {
    type: 'boolean',
    env: 'REVISOR_STASH',
    help: 'keep what upgrades destroy (dropped tables, columns) for downgrades to restore (default true; --no-stash)',
  },
  backup: {
    type: 'string',
    env: 'REVISOR_BACKUP_DIR',
    help: 'before a run that destroys data: pg_dump the schema and those tables into this directory',
  },
  'pg-dump': {
    type: 'string',
    env: 'REVISOR_PG_DUMP',
    help: 'the pg_dump --backup runs (default pg_dump on PATH)',
  },
  'stash-retention': {
    type: 'string',
    env: 'REVISOR_STASH_RETENTION',
    help: 'how long stashed data is kept (default 7d)',
  },
  'record-schema': {
    type: 'boolean',
    env: 'REVISOR_RECORD_SCHEMA',
    help: 'record the catalog after each run that applied a step, for revisor drift (default true; --no-record-schema)',
  },
  'dev-url': {
    type: 'string',
    env: 'REVISOR_DEV_URL',
    help: 'a server where revisor may create and drop scratch databases (default: the database server, else embedded)',
  },
  'version-table': {
    type: 'string',
    env: 'REVISOR_VERSION_TABLE',
    help: 'version table (default alembic_version)',
  },
  'version-length': {
    type: 'string',
    env: 'REVISOR_VERSION_LENGTH',
    help: 'varchar length of a version table revisor creates (default 32, as Alembic)',
  },
  'version-schema': { type: 'string', env: 'REVISOR_VERSION_SCHEMA', help: 'its schema (default public)' },
  'history-table': {
    type: 'string',
    env: 'REVISOR_HISTORY_TABLE',
    help: 'audit table (default revisor_history)',
  },
  'lock-wait': {
    type: 'string',
    env: 'REVISOR_LOCK_WAIT',
    help: 'how long to wait for the migration lock (default 5m)',
  },
  'lock-lease': {
    type: 'string',
    env: 'REVISOR_LOCK_LEASE',
    help: 'how long a stopped or unreachable holder keeps the lock (default 60s)',
  },
  'lock-timeout': {
    type: 'string',
    env: 'REVISOR_LOCK_TIMEOUT',
    help: 'lock_timeout of a step, doubled per retry (default 5s; 0 off)',
  },
  'lock-retries': {
    type: 'string',
    env: 'REVISOR_LOCK_RETRIES',
    help: 'retries of a step on lock timeout (default 4)',
  },
  'report-blockers-after': {
    type: 'string',
    env: 'REVISOR_REPORT_BLOCKERS_AFTER',
    help: 'a step still waiting this long names the sessions that block it (default 1s)',
  },
  'cancel-blockers-after': {
    type: 'string',
    env: 'REVISOR_CANCEL_BLOCKERS_AFTER',
    help: "cancel the queries of sessions that block a step this long (default: never); needs pg_signal_backend or the blockers' role",
  },
  'terminate-blockers': {
    type: 'boolean',
    env: 'REVISOR_TERMINATE_BLOCKERS',
    help: 'with --cancel-blockers-after, also end idle-in-transaction sessions that block a step',
  },
  'statement-timeout': {
    type: 'string',
    env: 'REVISOR_STATEMENT_TIMEOUT',
    help: 'statement_timeout of a step (default 0: off)',
  },
  'connect-timeout': {
    type: 'string',
    env: 'REVISOR_CONNECT_TIMEOUT',
    help: 'connection timeout (default 10s)',
  },
  'transaction-mode': {
    type: 'string',
    env: 'REVISOR_TRANSACTION_MODE',
    help: 'per-migration (default) or all',
  },
  batch: {
    type: 'string',
    env: 'REVISOR_BATCH',
    help: 'adaptive (default): quick steps go as scripts; off: every step on its own',
  },
  'allow-checksum-mismatch': {
    type: 'boolean',
    env: 'REVISOR_ALLOW_CHECKSUM_MISMATCH',
    help: 'run over edited applied migrations',
  },
  json: { type: 'boolean', env: 'REVISOR_JSON', help: 'machine-readable output on stdout' },
  'pushgateway-url': {
    type: 'string',
    env: 'REVISOR_PUSHGATEWAY_URL',
    help: "push the run's metrics (upgrade, downgrade, stamp)",
  },
  'log-level': {
    type: 'string',
    env: 'REVISOR_LOG_LEVEL',
    help: 'debug, info (default), warn, error, silent',
  },
  help: { type: 'boolean', short: 'h', help: "show the command's help" },
  'help-all': { type: 'boolean', help: 'show the help with every global option described' },
} as const;

export type OptionSpec = Record<
  string,
  { type: 'string' | 'boolean'; short?: string; env?: string; help: string; multiple?: boolean }
>;

export type Values = Record<string, string | boolean | string[] | undefined>;

export interface Parsed {
  readonly values: Values;
  readonly positionals: readonly string[];
  /** Options given on the command line, as opposed to the environment. */
  readonly fromCommandLine: ReadonlySet<string>;
  /** Options whose environment variable is set but empty (`DATABASE_URL=`). */
  readonly emptyInEnv: ReadonlySet<string>;
}

/** parseArgs with the global options, then environment variables for what the flags left unset. */
export function parse(argv: readonly string[], commandOptions: OptionSpec, env: NodeJS.ProcessEnv): Parsed {
  const spec: OptionSpec = { ...globalOptions, ...commandOptions };
  const options: ParseArgsConfig['options'] = {};
  for (const [name, o] of Object.entries(spec)) {
    options[name] = {
      type: o.type,
      ...(o.short ? { short: o.short } : {}),
      ...(o.multiple ? { multiple: true } : {}),
    };
  }
  let parsed: { values: Values; positionals: string[] };
  // Relative targets such as -1 look like short options to parseArgs; they are positionals.
  const relative = argv.filter((a) => /^-\d+$/.test(a));
  const rest = argv.filter((a) => !/^-\d+$/.test(a));
  try {
    // allowNegative: --no-record-schema turns off a boolean that defaults on.
    parsed = parseArgs({
      args: rest,
      options,
      allowPositionals: true,
      strict: true,
      allowNegative: true,
    }) as typeof parsed;
    parsed.positionals.push(...relative);
  } catch (err) {
    throw new RevisorError('Usage', `${(err as Error).message}; see --help`);
  }
  const values: Values = { ...parsed.values };
  const fromCommandLine = new Set(Object.keys(parsed.values));
  const emptyInEnv = new Set<string>();
  for (const [name, o] of Object.entries(spec)) {
    const fromEnv = o.env ? env[o.env] : undefined;
    if (fromEnv === '') emptyInEnv.add(name);
    if (values[name] !== undefined || fromEnv === undefined || fromEnv === '') continue;
    values[name] = o.type === 'boolean' ? /^(1|true|yes)$/i.test(fromEnv) : fromEnv;
  }
  return { values, positionals: parsed.positionals, fromCommandLine, emptyInEnv };
}

/** The largest timeout PostgreSQL accepts (an int of milliseconds), and setTimeout too. */
export const maxDurationMs = 2_147_483_647;

/** 300, 500ms, 5s, 2m, 1h → milliseconds; a bare number is seconds. */
export function duration(text: string | undefined, name: string, fallbackMs: number): number {
  if (text === undefined) return fallbackMs;
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (!match)
    throw new RevisorError('Usage', `--${name} takes a duration like 500ms, 30s, 5m or 1h, got "${text}"`);
  const factor = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(match[2] ?? 's') as 'ms' | 's' | 'm' | 'h'];
  const ms = Math.round(Number(match[1]) * factor);
  if (ms > maxDurationMs) {
    throw new RevisorError(
      'Usage',
      `--${name} is at most ${maxDurationMs}ms (about 24 days; PostgreSQL's timeouts and Node's timers stop there), got "${text}"`,
    );
  }
  return ms;
}

/** 12h, 7d, 90d → milliseconds: a retention, not a timer, so it may pass the timers' limit. */
export function retention(text: string | undefined, name: string, fallbackMs: number): number {
  if (text === undefined) return fallbackMs;
  const match = /^(\d+(?:\.\d+)?)(h|d)$/.exec(text.trim());
  if (!match) throw new RevisorError('Usage', `--${name} takes hours or days, like 12h or 7d, got "${text}"`);
  return Math.round(Number(match[1]) * (match[2] === 'd' ? 86_400_000 : 3_600_000));
}

export function count(text: string | undefined, name: string, fallback: number): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0)
    throw new RevisorError('Usage', `--${name} takes a whole number, got "${text}"`);
  return n;
}

export const str = (values: Values, name: string): string | undefined => {
  const v = values[name];
  return typeof v === 'string' ? v : undefined;
};

/**
 * A command's help: its own options in full, then the global ones by name only (they are
 * the same for every command, and thirty of them would bury the few that are the
 * command's); --help-all describes them too.
 */
export function helpText(usage: string, summary: string, commandOptions: OptionSpec, all = false): string {
  const lines = [`usage: ${usage}`, '', summary, ''];
  const describe = (spec: OptionSpec) =>
    Object.entries(spec).map(([name, o]) => {
      const flag = `${o.short ? `-${o.short}, ` : ''}--${name}${o.type === 'string' ? ' <value>' : ''}`;
      return `  ${flag.padEnd(34)} ${o.help}${o.env ? ` [${o.env}]` : ''}`;
    });
  if (Object.keys(commandOptions).length > 0) lines.push('options:', ...describe(commandOptions), '');
  if (all) {
    lines.push('global options:', ...describe(globalOptions));
    return lines.join('\n');
  }
  const names = Object.keys(globalOptions).map((name) => `--${name}`);
  const wrapped: string[] = [];
  for (const name of names) {
    const last = wrapped.at(-1);
    if (last !== undefined && last.length + name.length + 1 <= 96)
      wrapped[wrapped.length - 1] = `${last} ${name}`;
    else wrapped.push(`  ${name}`);
  }
  lines.push('global options (every command; --help-all describes them):', ...wrapped);
  return lines.join('\n');
}
