import { checksumMismatchError, findChecksumDrift } from '../chain/checksum.js';
import type { RevisionGraph } from '../chain/graph.js';
import type { Phase } from '../chain/phase.js';
import { classify } from '../errors/classify.js';
import { RevisorError } from '../errors/errors.js';
import type { Thresholds } from '../lint/judge.js';
import type { Finding } from '../lint/lint.js';
import type { RuleName } from '../lint/rules/index.js';
import { qualified } from '../ops/statement.js';
import type { BlockedStep, Blocker, BlockerAction } from '../pg/blockers.js';
import { insertHistory, markInterrupted } from '../pg/history.js';
import { fenceSql, holderCheckSql, type LockHolder } from '../pg/lock.js';
import { type DatabaseState, ensureTables, readHeads, readState } from '../pg/state.js';
import { type Inspection, inspect } from '../plan/inspect.js';
import { planForPhase } from '../plan/phases.js';
import { assertKnownHeads, type Plan, plan, planToward, type Step, singleStepPlan } from '../plan/planner.js';
import { resolveTarget } from '../plan/targets.js';
import type { Direction } from '../plan/version-rows.js';
import type { SchemaDriftReading } from '../schema/record.js';

/** The catalog reader, loaded by a run that applied something or a drift check, never by a no-op. */
const catalogRecords = () => import('../schema/record.js');

import { deleteAllHeads, recordBackup, type Tables } from '../sql/bookkeeping.js';
import type { BackupSettings } from './backup.js';
import {
  type BlockerSettings,
  BlockerWatch,
  defaultBlockerSettings,
  namingBlockers,
} from './blocker-watch.js';
import { execute, type StepResult } from './execute.js';
import type { Executor } from './executor.js';
import { type RunContext, withLock } from './locked.js';
import { blockStepExecutor, perMigrationExecutor } from './per-step.js';
import { scriptExecutor } from './scripts.js';
import type { Session } from './session.js';
import { singleTransactionExecutor } from './single-transaction.js';
import { prepareStash, withoutStash } from './stash.js';
import { writeVersionRows } from './step-runner.js';
import type { BackfillProgress, StepSettings } from './step-settings.js';

export type { StepResult } from './execute.js';
export type { Session } from './session.js';

export interface MigratorEvents {
  lockWaiting?(holder: LockHolder | null, waitedMs: number): void;
  lockAcquired?(waitedMs: number): void;
  interrupted?(rows: { revision: string; startedAt: Date }[]): void;
  stepStarted?(step: Step): void;
  stepFinished?(step: Step, result: StepResult): void;
  stepRetry?(step: Step, attempt: number, nextLockTimeoutMs: number): void;
  /** An INVALID index left by an interrupted build of this step was dropped before it ran again. */
  invalidIndexDropped?(step: Step, index: string): void;
  /** A backfill committed a batch. */
  backfillProgress?(step: Step, progress: BackfillProgress): void;
  /** The catalog after the run could not be recorded (revisor drift then compares with an older one). */
  schemaNotRecorded?(error: unknown): void;
  /** A step waits for a table lock held by others (blocker-watch.ts says when this is called). */
  stepBlocked?(step: Step, blocked: BlockedStep, blockedMs: number): void;
  /** A step seen blocked went on or failed, `blockedMs` after its blockers were first seen. */
  stepUnblocked?(step: Step, blockedMs: number): void;
  /** --cancel-blockers-after: what was done to one blocker. */
  blockerEnded?(step: Step, blocker: Blocker, action: BlockerAction): void;
}

export interface MigratorConfig {
  readonly graph: RevisionGraph;
  /** Opens a new session; the migrator uses one for work and one for the lock. */
  readonly connect: () => Promise<Session>;
  readonly tables: Tables;
  readonly executedBy: string;
  readonly lockWaitMs: number;
  /** How long a silent lock holder keeps the lock (idle_in_transaction_session_timeout of its transaction). */
  readonly lockLeaseMs: number;
  /** How long the second session may wait for a pooled server connection. */
  readonly connectTimeoutMs: number;
  readonly lockTimeoutMs: number;
  readonly lockRetries: number;
  readonly lockRetryPauseMs: number;
  readonly statementTimeoutMs: number;
  /** A transaction per migration, or one for the whole run. */
  readonly transactionMode: 'per-migration' | 'all';
  /** Consecutive steps as scripts of adaptive size (default), or every step on its own. */
  readonly batching?: 'adaptive' | 'off';
  readonly allowChecksumMismatch: boolean;
  /** Before a plan that destroys data: a pg_dump of the schema and of those tables. */
  readonly backup?: BackupSettings;
  /** Stash what upgrade steps destroy, for downgrades to restore (default true). */
  readonly stash?: boolean;
  /** How long stashed data is kept (default 7 days); older entries go at the start of a run. */
  readonly stashRetentionMs?: number;
  /** Record the catalog after each run that applied a step (default true), for drift detection. */
  readonly recordSchema?: boolean;
  /**
   * The result of a run that recorded the catalog carries its drift reading, from which a
   * caller that checks drift again and again (the controller) starts: one more catalog
   * query under the lock, which a one-shot run (the CLI) has no use for.
   */
  readonly driftReadingAfterRun?: boolean;
  /** The schemas recorded; every user schema when absent. */
  readonly schemas?: readonly string[];
  /** Who blocks a step: when to look, and whether to end them (default: look after 1 s, end none). */
  readonly blockers?: BlockerSettings;
  readonly signal?: AbortSignal;
  /** The run's name on its lock session, where its sessions open under a shared one (a pool's). */
  readonly applicationName?: string;
  readonly events?: MigratorEvents;
}

/** Kysely-style: what was planned, what each step did, and the error that stopped it. */
export interface RunResult {
  readonly plan: Plan | null;
  /** The backup files written before the run (--backup), if it destroyed data. */
  readonly backup?: readonly string[];
  /** Upgrade revisions left for the post-deploy phase (a pre-deploy run stops before them). */
  readonly held?: readonly string[];
  readonly results: readonly StepResult[];
  readonly lockWaitMs: number;
  /** After a run that recorded the schema: the drift reading it starts (no differences). */
  readonly schemaDrift?: SchemaDriftReading;
  readonly error?: RevisorError;
}

/** A run under the lock, with the version column's length, which ids written must fit. */
type LockedRun = RunContext & { readonly versionLength: number };

/**
 * Every revision a plan writes as a version row fits the version column; Alembic's is
 * varchar(32), which users widen for longer ids, and so may revisor's users.
 */
function assertIdsFit(planned: Plan, length: number, tables: Tables): void {
  const written = new Set(planned.steps.flatMap((s) => [s.revision, ...s.headsAfter]));
  const long = [...written].filter((id) => id.length > length);
  if (long.length === 0) return;
  const needed = Math.max(...long.map((id) => id.length));
  throw new RevisorError(
    'InvalidPlan',
    `revision id(s) ${long.join(', ')} are longer than the version column (varchar(${length})): widen it, as ` +
      `Alembic users do, with ALTER TABLE ${qualified(tables.versionTable, tables.schema)} ALTER COLUMN version_num ` +
      `TYPE varchar(${needed}); a new table is created that wide with --version-length ${needed}`,
    { revisions: long, versionLength: length },
  );
}

const failed = (error: unknown, lockWaitMs = 0): RunResult => ({
  plan: null,
  results: [],
  lockWaitMs,
  error: classify(error),
});

export class Migrator {
  readonly #config: MigratorConfig;
  #session: Session | null = null;

  constructor(config: MigratorConfig) {
    this.#config = config;
  }

  get graph(): RevisionGraph {
    return this.#config.graph;
  }

  async #db(): Promise<Session> {
    this.#session ??= await this.#config.connect();
    return this.#session;
  }

  async close(): Promise<void> {
    const session = this.#session;
    this.#session = null;
    await session?.end().catch(() => undefined);
  }

  async state(): Promise<DatabaseState> {
    return readState(await this.#db(), this.#config.tables);
  }

  /** What a run checks before it plans, read from the database and the chain (plan/inspect.ts). */
  async inspect(target: string): Promise<Inspection> {
    const { heads, checksums } = await this.state();
    return inspect(this.graph, heads, checksums, target);
  }

  /** The database's heads, refused when the chain does not know one of them. */
  async current(): Promise<readonly string[]> {
    const heads = await readHeads(await this.#db(), this.#config.tables);
    assertKnownHeads(this.graph, heads);
    return heads;
  }

  #verifyChecksums(state: DatabaseState): void {
    if (this.#config.allowChecksumMismatch) return;
    const drift = findChecksumDrift(this.graph, this.graph.ancestors(state.heads), state.checksums);
    if (drift.length > 0) throw checksumMismatchError(drift);
  }

  /**
   * The live catalog against the one recorded at the last apply (revisor drift, the
   * operator's SchemaDrift); the previous reading is returned as is when nothing it was
   * computed from has changed.
   */
  async schemaDrift(previous?: SchemaDriftReading): Promise<SchemaDriftReading> {
    return (await catalogRecords()).findSchemaDrift(
      await this.#db(),
      this.#config.tables,
      this.#config.schemas,
      previous,
    );
  }

  /**
   * Plans without the lock or any write: what `upgrade`/`downgrade` would do now. It
   * reads only the heads; applied checksums are verified under the lock, once there is
   * work to do, so the no-op costs the same at any length of history.
   */
  async plan(direction: Direction, target: string): Promise<Plan> {
    return plan(this.graph, await this.current(), direction, target);
  }

  /** Lint of the revisions an upgrade to target would run, judged by this database's tables. */
  async lintPending(
    target = 'head',
    options: { enabled?: ReadonlySet<RuleName>; thresholds?: Thresholds } = {},
  ): Promise<{ readonly steps: readonly Step[]; readonly findings: readonly Finding[] }> {
    const { steps } = await this.plan('upgrade', target);
    return { steps, findings: await this.lintSteps(steps, options) };
  }

  /** Lint of a plan's upgrade steps, judged by this database's tables (the operator's review of a plan). */
  async lintSteps(
    steps: readonly Step[],
    options: { enabled?: ReadonlySet<RuleName>; thresholds?: Thresholds } = {},
  ): Promise<readonly Finding[]> {
    const [{ lintPendingSteps }, { defaultThresholds }] = await Promise.all([
      import('../lint/pending.js'),
      import('../lint/judge.js'),
    ]);
    return lintPendingSteps(steps, await this.#db(), {
      thresholds: options.thresholds ?? defaultThresholds,
      ...(options.enabled ? { enabled: options.enabled } : {}),
    });
  }

  /** Upgrades to target; `phase: 'pre-deploy'` stops before the first post-deploy revision. */
  upgrade(target = 'head', options: { phase?: Phase } = {}): Promise<RunResult> {
    return this.#run('upgrade', target, options.phase ?? 'post-deploy');
  }

  downgrade(target: string): Promise<RunResult> {
    return this.#run('downgrade', target);
  }

  async #run(direction: Direction, target: string, phase: Phase = 'post-deploy'): Promise<RunResult> {
    let phased: ReturnType<typeof planForPhase>;
    try {
      // Nothing to do is decided without the lock: version rows change only in the
      // same transaction as their DDL, so a committed state is never half-applied.
      phased = planForPhase(await this.plan(direction, target), phase);
    } catch (err) {
      return failed(err);
    }
    const held = phased.held.map((s) => s.revision);
    if (phased.plan.steps.length === 0) return { plan: phased.plan, held, results: [], lockWaitMs: 0 };
    // Under the lock the plan is made again: another migrator may have moved the database.
    return this.#locked(async (db, run) => {
      const state = await readState(db, this.#config.tables);
      assertKnownHeads(this.graph, state.heads);
      if (direction === 'upgrade') this.#verifyChecksums(state);
      const now = planForPhase(plan(this.graph, state.heads, direction, target), phase);
      return { ...(await this.#execute(db, now.plan, run)), held: now.held.map((s) => s.revision) };
    });
  }

  /**
   * Applies a plan made earlier (the operator's, from the state it read and showed),
   * refused with PlanOutdated when the database is no longer where the plan starts: the
   * caller plans again and shows the new plan.
   */
  apply(planned: Plan): Promise<RunResult> {
    if (planned.steps.length === 0) return Promise.resolve({ plan: planned, results: [], lockWaitMs: 0 });
    return this.#locked(async (db, run) => {
      const state = await readState(db, this.#config.tables);
      const now = state.heads.join(',');
      if (now !== planned.fromHeads.join(',')) {
        throw new RevisorError(
          'PlanOutdated',
          `the database moved since the plan was made (it was at ${planned.fromHeads.join(', ') || 'base'}, ` +
            `it is at ${now || 'base'}); nothing was run: plan again`,
          { planned: planned.fromHeads, current: state.heads },
        );
      }
      if (planned.direction === 'upgrade') this.#verifyChecksums(state);
      return this.#execute(db, planned, run);
    });
  }

  async #locked(
    work: (db: Session, run: LockedRun) => Promise<Omit<RunResult, 'lockWaitMs'>>,
  ): Promise<RunResult> {
    const { events } = this.#config;
    let lockWaitMs = 0;
    try {
      // The planning session is the first to poll the lock; while it waits the run holds
      // no other, and the work session is opened (as this migrator's session) once the
      // lock is held.
      const first = await this.#db();
      this.#session = null;
      return await withLock(
        first,
        this.#config.connect,
        () => this.#db(),
        {
          ...this.#config,
          onWait: (holder, waited) => events?.lockWaiting?.(holder, waited),
        },
        async (db, run, waited) => {
          lockWaitMs = waited;
          events?.lockAcquired?.(waited);
          const versionLength = await ensureTables(db, this.#config.tables, run.pooled);
          const interrupted = await markInterrupted(db, this.#config.tables);
          if (interrupted.length > 0) events?.interrupted?.(interrupted);
          return { ...(await work(db, { ...run, versionLength })), lockWaitMs };
        },
      );
    } catch (err) {
      return failed(err, lockWaitMs);
    }
  }

  /** The blocker watch for a run: it reads from the lock session, found by the work key its steps hold. */
  #blockerWatch(run: RunContext): BlockerWatch {
    const { events } = this.#config;
    return new BlockerWatch(
      run.observer,
      run.fence.workKey,
      { ...defaultBlockerSettings, ...this.#config.blockers, lockTimeoutMs: this.#config.lockTimeoutMs },
      {
        blocked: (step, blocked, ms) => events?.stepBlocked?.(step, blocked, ms),
        unblocked: (step, ms) => events?.stepUnblocked?.(step, ms),
        blockerEnded: (step, blocker, action) => events?.blockerEnded?.(step, blocker, action),
      },
    );
  }

  #settings(run: RunContext): StepSettings {
    const c = this.#config;
    return {
      tables: c.tables,
      fence: fenceSql(run.fence),
      holderCheck: holderCheckSql(run.fence),
      pooled: run.pooled,
      executedBy: c.executedBy,
      lockTimeoutMs: c.lockTimeoutMs,
      lockRetries: c.lockRetries,
      lockRetryPauseMs: c.lockRetryPauseMs,
      statementTimeoutMs: c.statementTimeoutMs,
      ...(c.signal ? { signal: c.signal } : {}),
      onRetry: (step, attempt, next) => c.events?.stepRetry?.(step, attempt, next),
      onInvalidIndexDropped: (step, index) => c.events?.invalidIndexDropped?.(step, index),
      onBackfillProgress: (step, progress) => c.events?.backfillProgress?.(step, progress),
    };
  }

  /**
   * The executor the configuration asks for. Behind a pooler there are no scripts: what
   * a script's steps record is staged in session settings, which another server
   * connection would not see.
   */
  #executor(db: Session, settings: StepSettings): Executor {
    const batching = (this.#config.batching ?? 'adaptive') === 'adaptive' && !settings.pooled;
    if (this.#config.transactionMode === 'all') {
      return singleTransactionExecutor(db, settings, (onApplied) => {
        const single = blockStepExecutor(db, settings, 'savepoint', onApplied);
        return batching ? scriptExecutor(db, 'savepoint', settings, single, onApplied) : single;
      });
    }
    const single = perMigrationExecutor(db, settings);
    return batching ? scriptExecutor(db, 'transaction', settings, single) : single;
  }

  async #execute(db: Session, asPlanned: Plan, run: LockedRun): Promise<Omit<RunResult, 'lockWaitMs'>> {
    assertIdsFit(asPlanned, run.versionLength, this.#config.tables);
    const planned = this.#config.stash === false ? withoutStash(asPlanned) : asPlanned;
    // The catalog reader loads while the steps run, not after them.
    const records = this.#config.recordSchema !== false && planned.steps.length > 0 ? catalogRecords() : null;
    records?.catch(() => undefined);
    // Under the lock, before any step: the dump is of the state the plan starts from.
    const backup = this.#config.backup
      ? await (await import('./backup.js')).backupBeforePlan(db, asPlanned, this.#config.backup, new Date())
      : null;
    await prepareStash(db, planned, this.#config.stashRetentionMs ?? 7 * 24 * 3600 * 1000);
    const { events } = this.#config;
    const watch = this.#blockerWatch(run);
    const settings = {
      ...this.#settings(run),
      onRetry: (step: Step, attempt: number, next: number) => {
        watch.stepRetried(step);
        events?.stepRetry?.(step, attempt, next);
      },
    };
    const executed = await execute(db, planned, this.#executor(db, settings), {
      tables: this.#config.tables,
      executedBy: this.#config.executedBy,
      ...(this.#config.signal ? { signal: this.#config.signal } : {}),
      lockHeld: run.lockHeld,
      stepStarted: (step) => {
        watch.stepStarted(step);
        events?.stepStarted?.(step);
      },
      stepFinished: (step, result) => {
        watch.stepFinished();
        events?.stepFinished?.(step, result);
      },
    }).finally(() => watch.stop());
    const outcome = executed.error
      ? { ...executed, error: namingBlockers(executed.error, watch.lastSeen) }
      : executed;
    if (backup) {
      const where = recordBackup(this.#config.tables, backup.join(' '));
      await db.query(where.sql, where.params).catch(() => undefined);
    }
    let schemaDrift: SchemaDriftReading | null = null;
    if (records && outcome.results.some((r) => r.status === 'applied')) {
      // Still under the lock: no other run changes the schema between the last step and this read.
      const { recordCatalog } = await records;
      const { tables, schemas, driftReadingAfterRun } = this.#config;
      schemaDrift = await recordCatalog(db, tables, {
        reading: driftReadingAfterRun === true,
        schemas,
        alongside: run.observer,
      }).catch((err: unknown) => {
        events?.schemaNotRecorded?.(err);
        return null;
      });
    }
    return {
      plan: planned,
      ...outcome,
      ...(backup ? { backup } : {}),
      ...(schemaDrift ? { schemaDrift } : {}),
    };
  }

  /** Runs exactly one revision up or down, under the lock (revisor check's staircase). */
  step(revision: string, direction: Direction): Promise<RunResult> {
    return this.#locked(async (db, run) => {
      const heads = await readHeads(db, this.#config.tables);
      return this.#execute(db, singleStepPlan(this.graph, heads, revision, direction), run);
    });
  }

  /** Creates the version and history tables, and nothing else (`revisor ensure-version`). */
  ensureVersion(): Promise<RunResult> {
    return this.#locked(async () => ({ plan: null, results: [] }));
  }

  /**
   * Sets the version table to the targets (one or several, as `alembic stamp a b`) without
   * running migrations. --purge first empties it, so a table naming revisions the chain
   * does not know can be reset.
   */
  async stamp(targets: string | readonly string[], options: { purge?: boolean } = {}): Promise<RunResult> {
    return this.#locked(async (db, run) => {
      const { tables } = this.#config;
      const heads = options.purge ? [] : await readHeads(db, tables);
      const resolved = [
        ...new Set(
          (typeof targets === 'string' ? [targets] : targets).flatMap((t) =>
            resolveTarget(this.graph, t, heads),
          ),
        ),
      ];
      const stampPlan = planToward(this.graph, heads, resolved);
      assertIdsFit(stampPlan, run.versionLength, tables);
      await db.query('BEGIN');
      try {
        if (options.purge) await db.query(deleteAllHeads(tables).sql);
        for (const step of stampPlan.steps) {
          await writeVersionRows(db, step, tables);
          await insertHistory(db, tables, {
            revision: step.revision,
            direction: 'stamp',
            checksum: step.direction === 'upgrade' ? step.migration.checksum('upgrade') : null,
            startedAt: new Date(),
            executedBy: this.#config.executedBy,
            outcome: 'applied',
            headsAfter: step.headsAfter,
          });
        }
        await db.query('COMMIT');
      } catch (err) {
        await db.query('ROLLBACK').catch(() => undefined);
        throw err;
      }
      const results = stampPlan.steps.map(
        (s): StepResult => ({ revision: s.revision, direction: 'stamp', status: 'applied', durationMs: 0 }),
      );
      return { plan: stampPlan, results };
    });
  }
}
