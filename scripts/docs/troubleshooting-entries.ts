import type { ReasonName } from '../../src/controller/reasons.js';
import type { ErrorCode } from '../../src/migrator/index.js';

/**
 * What each error class and condition reason means and what to do about it. Keyed by the
 * code's own types, so a new error code or reason does not compile until it has an entry;
 * the troubleshooting page is generated from these and from the code's tables.
 */
export const errorAdvice: Record<ErrorCode, string> = {
  Unexpected:
    'A bug in revisor: nothing you did explains it. Report it with the output (run again with `--log-level debug`).',
  Usage:
    'The command line or an environment variable is wrong: an unknown option, a bad duration, an empty `DATABASE_URL=` from an empty Secret, a table name PostgreSQL would truncate. The message names it; nothing was touched.',
  MigrationLoadError:
    'A migration file could not be read: a syntax error (the message names file and line), a missing header, a file that is not regular, too large or not UTF-8, two files claiming one revision id.',
  RevisionNotFound:
    'No revision matches the target. `revisor history` lists them; give at least four characters of an id.',
  AmbiguousRevision: 'The prefix matches several revisions (the message lists them): give more characters.',
  MultipleHeads:
    'The chain has several heads and the target said `head`: name one, use `heads`, or join them with `revisor merge -m "…" heads`.',
  InvalidTarget:
    'The target is not reachable in that direction, e.g. downgrading to a revision that is not applied, or `label@base` as a state.',
  UnknownRevision:
    'The database is at a revision this chain does not have: a newer release migrated it, or another chain did. Deploy the chain that has it, or `revisor stamp --purge <rev>` when you know where the schema is.',
  ChecksumMismatch:
    'An applied migration was edited after it ran. Restore the file as it was and put the change in a new revision (`--allow-checksum-mismatch` runs over it deliberately).',
  InvalidPlan:
    'The plan cannot run as asked, e.g. a non-transactional migration (CREATE INDEX CONCURRENTLY) under `--transaction-mode all`.',
  PlanOutdated: 'The database moved between `revisor plan` and `revisor apply`: make the plan again.',
  ConnectionFailed:
    'revisor could not reach the database, or lost it mid-step: check address, credentials, TLS, network and the pool size. A step that was running was rolled back (or marked interrupted when non-transactional): run again.',
  LockTimeout:
    'Another migrator held the migration lock for all of `--lock-wait`: the message names its pid and application. Wait for it, or end it if it is stuck (its lease ends with it).',
  Cancelled: 'SIGTERM or SIGINT: the running step finished or was rolled back. Run again when ready.',
  StepLockTimeout:
    'A table stayed locked by other sessions through every retry of a step: the log named them (pid, application, transaction age). End the long transaction, or set `--cancel-blockers-after`.',
  MigrationFailed:
    "A migration's SQL failed: the message names revision, statement, line and PostgreSQL's hint. The step was rolled back; fix the migration (or the data it tripped on) and run again.",
  PermissionDenied:
    "PostgreSQL refused revisor's role (SQLSTATE 42501) outside a migration's own SQL: grant it what the message names (CREATE on the schema, ownership of the version table).",
  DatabaseError:
    "PostgreSQL refused revisor's own bookkeeping on the version or history table: check `--version-table`, `--version-schema` and `--history-table`.",
  CheckFailed: '`revisor check` found problems, listed above its last line: fix each, then run it again.',
  LintFailed:
    "`revisor lint` found unwaived findings: follow each advice, or waive one with a reason (`lintWaivers: { rule: 'why' }` in TypeScript, `-- lint_waive: rule: why` in a SQL header).",
  WaitTimeout:
    '`revisor wait` reached its deadline: the message says where the database is and what it waited for.',
  SchemaDiffers:
    '`revisor diff` or `drift` found differences: put them in a migration (`revisor revision --autogenerate`), or undo the change made by hand.',
  BackupFailed:
    '`--backup`: pg_dump is missing, older than the server, or failed. Nothing was run; install a matching pg_dump or point `--pg-dump` at one.',
};

export interface ReasonEntry {
  /** What the controller saw. */
  readonly means: string;
  /** What to do; null when the reason is a normal state. */
  readonly action: string | null;
}

export const reasonEntries: Record<ReasonName, ReasonEntry> = {
  Applied: { means: 'The database is at the target revision.', action: null },
  Started: {
    means:
      'An Event: a run has gone on for a second (a run of fast steps announces only its end, Applied), or its Job was created.',
    action: null,
  },
  Migrating: { means: 'Steps are running now; the message says which.', action: null },
  WaitingForLock: {
    means: 'Another migrator holds the migration lock of this version table.',
    action: 'Nothing, usually: it is retried. If it lasts, the message names the holder (pid, application).',
  },
  WaitingForTableLock: {
    means: 'A step waits for a table lock other sessions hold; the message names them.',
    action: 'End the long transaction named, or set `spec.blockers.cancelAfterSeconds`.',
  },
  BlockerEnded: {
    means: 'An Event: a session blocking a step had its query cancelled or was ended (`spec.blockers`).',
    action: null,
  },
  DryRun: {
    means: '`spec.dryRun`: the pending steps and their SQL are in `status.plan`; nothing ran.',
    action: null,
  },
  Suspended: { means: '`spec.suspend` is true: nothing is reconciled.', action: 'Set it to false to go on.' },
  InvalidSpec: {
    means:
      'The spec cannot be acted on (a value the CRD could not reject, e.g. an unparsable duration or option).',
    action: 'Fix the field the message names.',
  },
  DowngradeNotAllowed: {
    means:
      'The target is below the current revision and `spec.allowDowngrade` is false. Nothing was touched.',
    action: 'Set `allowDowngrade: true` if the downgrade is meant, or fix the target.',
  },
  RevisionNotFound: {
    means: 'The target does not resolve in the chain (unknown, ambiguous, several heads, unreachable).',
    action: 'Fix `spec.targetRevision`; the message lists candidates or heads.',
  },
  SecretNotFound: {
    means: 'The Secret named in `spec.database` does not exist (or lacks the key).',
    action: 'Create it in the resource’s namespace; it is retried with backoff.',
  },
  ConfigMapNotFound: {
    means: 'The ConfigMap of `spec.migrations.configMapRef` does not exist.',
    action: 'Create it; it is retried with backoff.',
  },
  ConnectionFailed: {
    means: 'The database could not be reached, or was lost mid-step (the step was rolled back).',
    action: 'Check host, port, credentials, TLS and network policy; it is retried with backoff.',
  },
  MigrationFailed: {
    means: "A migration's SQL failed; the message names revision and statement.",
    action: 'Fix the migration or the data, ship a new chain; it is retried with backoff meanwhile.',
  },
  ChecksumMismatch: {
    means: 'An applied migration differs from the one in the chain.',
    action: 'Restore the applied migration and put the change in a new revision.',
  },
  UnknownDatabaseRevision: {
    means: 'The database is at a revision the chain lacks (a newer release, or another chain).',
    action: 'Deploy the chain that has it, or stamp the database where its schema is.',
  },
  InvalidChain: {
    means:
      'The chain cannot be loaded or planned (a broken file, a non-transactional step under transactionMode all).',
    action: 'Fix the chain; `revisor check` locally shows the same error.',
  },
  OutOfBandChange: {
    means: "The version table changed behind the controller's back (another tool migrated the database).",
    action: 'Find out who; the next reconcile starts from what the database says.',
  },
  RetriesExhausted: {
    means: '`spec.retry.maxAttempts` failures in a row; the controller stopped trying.',
    action: 'Fix the cause the message names, then change the spec (any field) to try again.',
  },
  NoDrift: { means: 'The schema matches what the operator applied.', action: null },
  SchemaDrift: {
    means: 'The schema changed outside the migrations (`Drifted=True`); the message lists what.',
    action: 'Put the change in a migration, or undo it.',
  },
  WaitingForRollout: {
    means: 'Post-deploy revisions wait for `spec.postDeploy.after` to finish its rollout.',
    action: null,
  },
  ApprovalRequired: {
    means: 'The plan (in `status.plan`) needs approval (`spec.approval`).',
    action: 'Review it; annotate the resource with `revisor.dev/approved-plan=<status.planHash>`.',
  },
  BackupFailed: {
    means: 'The dump before a destructive run failed; nothing ran.',
    action: "Check the operator's backup volume and pg_dump's message.",
  },
  DriftBlocked: {
    means: '`spec.drift.action: Block` and the schema has drifted: new migrations wait.',
    action: 'Resolve the drift (a migration, or undo it).',
  },
  StepLockTimeout: {
    means: 'A table stayed locked through every retry of a step.',
    action: 'End the long transaction the message names, or set `spec.blockers.cancelAfterSeconds`.',
  },
  Cancelled: {
    means: 'The controller stopped mid-run (shutdown, lost lease); the step was rolled back.',
    action: null,
  },
  PermissionDenied: {
    means: "PostgreSQL refused the role revisor's bookkeeping runs as.",
    action: 'Grant what the message names.',
  },
  DatabaseError: {
    means: 'PostgreSQL refused the version or history table.',
    action: 'Check `spec.versionTable`.',
  },
  InternalError: { means: 'A bug in revisor.', action: "Report it with the controller's log." },
  DatabaseMoved: {
    means: 'The database changed between planning and applying; it is planned again.',
    action: null,
  },
  SecretNotPermitted: {
    means: 'The Secret does not allow this resource (annotation `revisor.dev/allowed-migrations`).',
    action: 'Whoever owns the Secret annotates it with the resource’s name (or `*`).',
  },
  HostNotPermitted: {
    means:
      'The host is not one the credentials Secret allows (its `host` key or `revisor.dev/allowed-hosts`).',
    action: 'Whoever owns the Secret adds the host (and port) to `revisor.dev/allowed-hosts`.',
  },
  InvalidDatabaseURL: {
    means: 'The URL in the Secret does not parse as `postgres://…` (it is never shown).',
    action: 'Fix the Secret value.',
  },
  ReferenceUnreadable: {
    means: 'The controller may not read a referenced Secret, ConfigMap or workload (RBAC).',
    action: "Grant the controller's ServiceAccount `get` on it (the chart's `operator.watchNamespaces`).",
  },
  WaitingForJob: { means: 'A migration Job from `spec.migrations.image` is running.', action: null },
  JobFailed: {
    means: 'The migration Job failed; `status.lastRun` has its exit code, error class and log tail.',
    action: 'Read `status.lastRun.logTail`; the exit code is one of the error classes above.',
  },
  JobLost: {
    means: 'The migration Job vanished before it finished (deleted, or its node was lost).',
    action: 'It is started again; if it recurs, look for what deletes Jobs.',
  },
  JobDeadlineExceeded: {
    means: 'The Job ran past `spec.migrations.activeDeadlineSeconds`.',
    action: 'Raise the deadline, or look at what the step waited for.',
  },
  JobRejected: {
    means: 'The API server refused the Job (quota, admission policy, a bad image reference).',
    action: 'The message has its answer; fix the quota or policy.',
  },
  RollingOut: { means: 'DatabaseMigrationSet: databases are started on the target in waves.', action: null },
  RolloutHalted: {
    means: 'DatabaseMigrationSet: `rollout.maxFailures` databases failed; nothing new starts.',
    action: '`status.failing` lists them; fix and change the set’s spec to go on.',
  },
};
