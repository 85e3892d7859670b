import { createLogger, parseLevel } from '../log/logger.js';
import { classify, errorCodes, RevisorError } from '../migrator/index.js';
import { type RunSpan, type Tracing, tracingEnabled } from '../telemetry/tracing.js';
import { helpText, type OptionSpec, parse } from './args.js';
import { upgrade } from './commands/upgrade.js';
import type { Context } from './context.js';
import { errorJson, printJson, reportError } from './output.js';
import { packageVersion } from './package-version.js';

interface Command {
  usage: string;
  summary: string;
  options: OptionSpec;
  /** Loaded on use, so a command pulls in only its own modules. */
  run: () => Promise<(ctx: Context) => Promise<number>>;
}

const migrate = () => import('./commands/migrate.js');
const info = () => import('./commands/info.js');
const scaffold = () => import('./commands/scaffold.js');

export const commands: Record<string, Command> = {
  upgrade: {
    usage: 'revisor upgrade [target] [--phase pre-deploy|post-deploy]',
    summary:
      'Apply migrations up to target (default head): head, heads, <rev>, <prefix>, +N, <rev>+N, label@head, label@+N, <rev>@head.',
    options: {
      phase: {
        type: 'string',
        env: 'REVISOR_PHASE',
        help: 'pre-deploy: stop before the first post-deploy revision; post-deploy (default): everything',
      },
    },
    // What every init container runs: in main's own chunk, not one more module to load.
    run: async () => upgrade,
  },
  downgrade: {
    usage: 'revisor downgrade <target>',
    summary: 'Revert migrations down to target: base, <rev>, -N, <rev>-N, label@base, label@-N, label@<rev>.',
    options: {},
    run: async () => (await migrate()).downgrade,
  },
  stamp: {
    usage: 'revisor stamp <target> [<target>…] [--purge]',
    summary: 'Set the version table to the target(s) without running migrations.',
    options: {
      purge: { type: 'boolean', help: 'empty the version table first (it may name unknown revisions)' },
    },
    run: async () => (await migrate()).stamp,
  },
  'ensure-version': {
    usage: 'revisor ensure-version',
    summary: 'Create the version table (and the history table) if missing; run nothing.',
    options: {},
    run: async () => (await migrate()).ensureVersion,
  },
  current: {
    usage: 'revisor current',
    summary: "Print the database's current revision(s).",
    options: {},
    run: async () => (await info()).current,
  },
  heads: {
    usage: 'revisor heads [--resolve-dependencies]',
    summary: 'Print the head revision(s) of the migrations.',
    options: {
      'resolve-dependencies': {
        type: 'boolean',
        help: 'leave out revisions that only depends_on names (they are applied with what needs them)',
      },
    },
    run: async () => (await info()).heads,
  },
  branches: {
    usage: 'revisor branches',
    summary: 'Print the branch points and the revisions each branches into.',
    options: {},
    run: async () => (await info()).branches,
  },
  history: {
    usage: 'revisor history [-r start:end] [--verbose] [--audit]',
    summary: "List revisions newest first; --audit lists the database's history table instead.",
    options: {
      'rev-range': { type: 'string', short: 'r', help: 'start:end, e.g. base:head or 972fc:' },
      verbose: { type: 'boolean', short: 'v', help: 'show every field' },
      audit: { type: 'boolean', help: 'the steps recorded in the database (revisor_history)' },
    },
    run: async () => (await info()).history,
  },
  show: {
    usage: 'revisor show <rev>',
    summary: 'Show a revision, its checksum and the SQL of both directions.',
    options: {},
    run: async () => (await info()).show,
  },
  sql: {
    usage: 'revisor sql upgrade|downgrade <target | from:to>',
    summary: 'Print the SQL of a run (version-table statements included) without touching a database.',
    options: {},
    run: async () => (await import('./commands/offline-sql.js')).offlineSql,
  },
  check: {
    usage: 'revisor check [--heads <rev,rev>] [--schema FILE.sql]',
    summary:
      'Check the chain: heads, downgrades, the up/down/up staircase on a scratch database, and with --schema that the head has that schema.',
    options: {
      heads: { type: 'string', help: 'the heads the chain must have (default: exactly one)' },
      schema: { type: 'string', help: "a SQL file the chain's head must match (Alembic's `check`)" },
    },
    run: async () => (await import('./commands/check.js')).check,
  },
  diff: {
    usage: 'revisor diff --from <source> --to <source> [--sql] [--json]',
    summary:
      'Show what turns one schema into another. A source is postgres://…, database (the configured one), file:schema.sql, or a chain target (head, base, <rev>). Exit 33 when they differ.',
    options: {
      from: { type: 'string', help: 'the schema as it is (default: database)' },
      to: { type: 'string', help: 'the schema as it should be (default: head)' },
      sql: { type: 'boolean', help: 'print the SQL of each change' },
    },
    run: async () => (await import('./commands/schema.js')).diffCommand,
  },
  plan: {
    usage: 'revisor plan [target] [--downgrade] --out plan.json',
    summary: 'Write the plan a run would apply (steps, SQL, what may destroy data, its hash) for review.',
    options: {
      out: { type: 'string', help: 'the plan file to write' },
      downgrade: { type: 'boolean', help: 'plan a downgrade to the target instead' },
    },
    run: async () => (await import('./commands/plan.js')).planCommand,
  },
  apply: {
    usage: 'revisor apply plan.json',
    summary:
      'Run a reviewed plan exactly; PlanOutdated when the database or the chain changed since it was made.',
    options: {},
    run: async () => (await import('./commands/plan.js')).applyCommand,
  },
  stash: {
    usage: 'revisor stash list | revisor stash drop <revision>',
    summary:
      "List what upgrades stashed for lossless downgrades (revision, table, column, size), or drop a revision's stash.",
    options: {},
    run: async () => (await import('./commands/stash.js')).stash,
  },
  drift: {
    usage: 'revisor drift',
    summary:
      'Compare the database with the schema recorded at its last apply; exit 33 when something changed outside the migrations.',
    options: {},
    run: async () => (await import('./commands/schema.js')).drift,
  },
  lint: {
    usage: 'revisor lint [revision|file…] [--format text|json|github|sarif] [--fail-on error|warning|never]',
    summary:
      "Lint revisions' upgrade SQL for what locks or breaks production; with a database configured, only what it would run next, judged by its tables.",
    options: {
      format: {
        type: 'string',
        env: 'REVISOR_LINT_FORMAT',
        help: 'text (default), json, github (workflow annotations) or sarif (SARIF 2.1.0)',
      },
      'fail-on': {
        type: 'string',
        env: 'REVISOR_LINT_FAIL_ON',
        help: 'the lowest severity that fails the run: error (default), warning, or never',
      },
      'small-table': {
        type: 'string',
        env: 'REVISOR_LINT_SMALL_TABLE',
        help: "against a database: a table with at most this many rows is small, its findings harmless (default 10000, or the chain's revisor-lint.json)",
      },
      'show-all': { type: 'boolean', help: 'list waived findings, and those harmless on the database, too' },
    },
    run: async () => (await import('./commands/lint.js')).lint,
  },
  embedded: {
    usage: 'revisor embedded [status|stop]',
    summary:
      'Show or stop the local PostgreSQL that commands start when no database is configured (it keeps running between them).',
    options: {},
    run: async () => (await import('./commands/embedded.js')).embedded,
  },
  wait: {
    usage: 'revisor wait --revision <rev|head> [--phase pre-deploy] [--timeout 5m] [--interval 2s]',
    summary:
      'Wait until the database has reached a revision (reads the version table only; for init containers).',
    options: {
      revision: {
        type: 'string',
        env: 'REVISOR_WAIT_REVISION',
        help: 'the revision the application needs, or head',
      },
      timeout: { type: 'string', env: 'REVISOR_WAIT_TIMEOUT', help: 'give up after this long (default 5m)' },
      interval: { type: 'string', help: 'time between checks (default 2s)' },
      phase: {
        type: 'string',
        env: 'REVISOR_WAIT_PHASE',
        help: 'pre-deploy: wait only for the revisions before the first post-deploy one (what new pods need)',
      },
    },
    run: async () => (await import('./commands/wait.js')).wait,
  },
  controller: {
    usage: 'revisor controller [--namespaces a,b] [--leader-elect] [--metrics-addr :8080]',
    summary:
      "Run the operator: reconcile DatabaseMigration resources (the API server from KUBECONFIG, ~/.kube/config, or the pod's ServiceAccount).",
    options: {
      namespaces: {
        type: 'string',
        env: 'WATCH_NAMESPACES',
        help: 'namespaces to watch, comma-separated (default: all)',
      },
      selector: {
        type: 'string',
        help: "a label selector: reconcile only the DatabaseMigrations (and sets) it matches, this process's shard (e.g. revisor.dev/shard=a; default all)",
      },
      'metrics-addr': {
        type: 'string',
        env: 'REVISOR_METRICS_ADDR',
        help: '/metrics, /healthz, /readyz (default :8080)',
      },
      'max-concurrent': {
        type: 'string',
        env: 'REVISOR_MAX_CONCURRENT',
        help: 'resources reconciled at once (default 4)',
      },
      resync: {
        type: 'string',
        env: 'REVISOR_RESYNC',
        help: 'how often a Ready resource is checked for drift (default 5m)',
      },
      'leader-elect': {
        type: 'boolean',
        env: 'REVISOR_LEADER_ELECT',
        help: 'run behind a coordination.k8s.io Lease',
      },
      'leader-elect-namespace': {
        type: 'string',
        help: 'the Lease namespace (default POD_NAMESPACE, else default)',
      },
      'leader-elect-name': { type: 'string', help: 'the Lease name (default revisor-controller)' },
      'lease-duration': { type: 'string', help: 'default 15s' },
      'renew-deadline': { type: 'string', help: 'default 10s' },
      'retry-period': { type: 'string', help: 'default 2s' },
      'shutdown-grace': { type: 'string', help: 'how long SIGTERM waits for a running step (default 25s)' },
      'watch-secrets': {
        type: 'boolean',
        env: 'REVISOR_WATCH_SECRETS',
        help: 'watch Secrets (metadata only) to react to a referenced one at once; needs list/watch on Secrets (default: get only, retried with backoff)',
      },
      'migration-sets': {
        type: 'boolean',
        env: 'REVISOR_MIGRATION_SETS',
        help: 'reconcile DatabaseMigrationSets: needs list on Secrets (names by label), create/update/delete on DatabaseMigrations',
      },
      'db-idle-timeout': {
        type: 'string',
        env: 'REVISOR_DB_IDLE_TIMEOUT',
        help: 'how long a database session stays open between reconciles (default: --resync plus 1m, so a resync finds it warm)',
      },
      'db-max-idle': {
        type: 'string',
        env: 'REVISOR_DB_MAX_IDLE',
        help: 'idle database sessions kept in all, one per database at most (default 1000; when full, a session coming back is closed; 0 closes each after use)',
      },
      'backup-dir': {
        type: 'string',
        env: 'REVISOR_CONTROLLER_BACKUP_DIR',
        help: "where spec.backup's dumps go, <dir>/<namespace>/<name>/ (the chart mounts a PersistentVolumeClaim)",
      },
      watchdog: { type: 'string', help: 'restart a watch silent this long (default 330s)' },
      'api-timeout': {
        type: 'string',
        env: 'REVISOR_API_TIMEOUT',
        help: 'give up on one API server request after this long and retry with backoff (default 30s)',
      },
    },
    run: async () => (await import('./commands/controller.js')).controller,
  },
  revision: {
    usage:
      'revisor revision -m "message" [--sql] [--head <rev>|label@head|base] [--splice] [--branch-label l] [--depends-on rev] [--rev-id <id>]',
    summary: 'Create a migration file YYYYMMDD_HHMM_<rev>_<slug> in --migrations (default ./migrations).',
    options: {
      message: { type: 'string', short: 'm', help: 'what the revision does' },
      sql: { type: 'boolean', help: 'a .sql file instead of TypeScript' },
      head: {
        type: 'string',
        help: 'the revision to build on: a head, label@head, or base (default: the single head)',
      },
      splice: {
        type: 'boolean',
        help: 'allow --head to name a revision that is not a head (starts a branch)',
      },
      'branch-label': {
        type: 'string',
        help: 'label(s) for the branch this revision starts, comma-separated',
      },
      'depends-on': { type: 'string', help: 'revision(s) or label(s) to apply first, comma-separated' },
      autogenerate: {
        type: 'boolean',
        help: "write the upgrade and downgrade from the difference between the chain's head and --schema or --from-database",
      },
      schema: { type: 'string', help: 'with --autogenerate: the desired schema as a SQL file (plain DDL)' },
      'from-database': {
        type: 'string',
        help: 'with --autogenerate: a database whose schema is the desired one',
      },
      rename: {
        type: 'string',
        multiple: true,
        help: 'with --autogenerate: old:new renames a table, table.old:new a column (instead of drop and add)',
      },
      'rev-id': { type: 'string', help: 'use this id instead of a random one' },
    },
    run: async () => (await scaffold()).revision,
  },
  index: {
    usage: 'revisor index [--seal]',
    summary:
      'Write the chain index (.revisor-index.json in --migrations): the no-op at head then skips reading the chain.',
    options: {
      seal: {
        type: 'boolean',
        help: "the directory never changes after this (an image build): trust the index on file names alone, and while the directory's mtime holds, on one stat of it (waits up to 2 s)",
      },
    },
    run: async () => (await scaffold()).index,
  },
  import: {
    usage:
      'revisor import alembic <alembic.ini | script or versions directory> --out <dir> [--python python3]',
    summary:
      "Write an Alembic project's revisions as revisor SQL migrations: same ids and graph, SQL from Alembic's offline mode.",
    options: {
      out: { type: 'string', help: 'the (empty) directory to write the migrations into' },
      python: {
        type: 'string',
        help: 'a Python with Alembic and the project importable (default python3); without one, markers replace the SQL',
      },
    },
    run: async () => (await import('./commands/import.js')).importProject,
  },
  merge: {
    usage: 'revisor merge -m "message" <rev> <rev>... | heads',
    summary: 'Create a revision that merges several heads.',
    options: {
      message: { type: 'string', short: 'm', help: 'what the merge is for' },
      sql: { type: 'boolean', help: 'a .sql file instead of TypeScript' },
      'rev-id': { type: 'string', help: 'use this id instead of a random one' },
    },
    run: async () => (await scaffold()).merge,
  },
};

function usage(): string {
  const lines = ['usage: revisor <command> [options]', '', 'commands:'];
  for (const [name, c] of Object.entries(commands)) lines.push(`  ${name.padEnd(15)} ${c.summary}`);
  lines.push(
    '',
    'Run "revisor <command> --help" for its options.',
    '',
    'exit codes:',
    '    0  done (or nothing to do)',
  );
  for (const [code, exit] of Object.entries(errorCodes)) lines.push(`  ${String(exit).padStart(3)}  ${code}`);
  return lines.join('\n');
}

/** Levenshtein distance, for "did you mean": the command names are few and short. */
function distance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++)
      row[j] = Math.min(
        row[j - 1]! + 1,
        previous[j]! + 1,
        previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    previous = row;
  }
  return previous[b.length]!;
}

function unknownCommand(name: string): string {
  const near = Object.keys(commands)
    .map((c) => ({ c, d: distance(name, c) }))
    .filter(
      ({ c, d }) => d <= Math.max(1, Math.floor(c.length / 3)) || (name.length >= 3 && c.startsWith(name)),
    )
    .sort((x, y) => x.d - y.d)
    .map(({ c }) => c);
  const hint =
    near.length > 0
      ? `did you mean ${near
          .slice(0, 3)
          .map((c) => `"${c}"`)
          .join(' or ')}? `
      : '';
  return `revisor: unknown command "${name}"; ${hint}"revisor --help" lists the commands`;
}

export async function main(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(`${usage()}\n`);
    return name ? 0 : 2;
  }
  if (name === '--version' || name === '-V' || name === 'version') {
    process.stdout.write(`revisor ${packageVersion()}\n`);
    return 0;
  }
  const command = commands[name];
  if (!command) {
    process.stderr.write(`${unknownCommand(name)}\n`);
    return errorCodes.Usage;
  }
  let json = false;
  const controller = new AbortController();
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    signals++;
    // The first signal lets the running step finish (or the lock wait end); a second one exits now,
    // and the server rolls back the open transaction when the connection drops.
    if (signals > 1) process.exit(128 + (signal === 'SIGINT' ? 2 : 15));
    controller.abort(signal);
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  let tracing: Tracing | null = null;
  let span: RunSpan | undefined;
  let code = 1;
  try {
    const { values, positionals, fromCommandLine, emptyInEnv } = parse(rest, command.options, env);
    json = values['json'] === true;
    if (values['help'] || values['help-all']) {
      const text = helpText(command.usage, command.summary, command.options, values['help-all'] === true);
      process.stdout.write(`${text}\n`);
      return 0;
    }
    let level: ReturnType<typeof parseLevel>;
    try {
      level = parseLevel((values['log-level'] as string | undefined) ?? 'info');
    } catch (err) {
      throw new RevisorError('Usage', (err as Error).message);
    }
    const logger = createLogger(level, env);
    const handler = await command.run();
    // The SDK is imported only when an endpoint is configured (see telemetry/tracing.ts).
    tracing =
      tracingEnabled(env) && name !== 'controller'
        ? await (await import('../telemetry/tracing.js')).startTracing(env, 'revisor')
        : null;
    span = tracing?.start(`revisor ${name}`, { 'revisor.command': name }, env['TRACEPARENT']);
    code = await handler({
      values,
      positionals,
      fromCommandLine,
      emptyInEnv,
      env,
      logger,
      signal: controller.signal,
      json,
      command: name,
      resolved: {},
      ...(span ? { span } : {}),
    });
    return code;
  } catch (err) {
    const error = classify(err);
    if (json) printJson({ error: errorJson(error) });
    code = reportError(error);
    return code;
  } finally {
    if (span) {
      const failed = Object.entries(errorCodes).find(([, exit]) => exit === code)?.[0];
      span.end({ ok: code === 0, ...(failed ? { code: failed } : {}) });
    }
    await tracing?.shutdown().catch(() => undefined);
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
  }
}
