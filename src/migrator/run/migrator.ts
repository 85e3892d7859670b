import { checksumMismatchError, findChecksumDrift } from '../chain/checksum.js';
import type { RevisionGraph } from '../chain/graph.js';
import { classify } from '../errors/classify.js';
import { RevisorError } from '../errors/errors.js';
import type { Queryable } from '../pg/db.js';
import { insertHistory, markInterrupted } from '../pg/history.js';
import {
  acquireLock,
  type Fence,
  fenceSql,
  holderCheckSql,
  type LockHolder,
  lockHeld,
  lockKey,
  lockLostError,
  releaseLock,
  startHeartbeat,
  waitForWork,
  workKey,
} from '../pg/lock.js';
import { type DatabaseState, ensureTables, readHeads, readState } from '../pg/state.js';
import { assertKnownHeads, type Plan, plan, planToward, type Step, singleStepPlan } from '../plan/planner.js';
import { resolveTarget } from '../plan/targets.js';
import type { Direction } from '../plan/version-rows.js';
import { deleteAllHeads, type Tables } from '../sql/bookkeeping.js';
import { type AppliedStep, appliedStep, runFinish, stepPrelude } from '../sql/step-sql.js';
import { batchFrom, nextBatchSize, runBatch } from './batch-runner.js';
import { stepFailure } from './failure.js';
import { runBlockStep, runNonTransactionalStep, type StepSettings, writeVersionRows } from './step-runner.js';

export interface Session extends Queryable {
  end(): Promise<void>;
  /**
   * Runs a multi-statement script over the simple protocol. Rows reach `onRow` as they
   * arrive, including those of statements that completed before a failing one.
   */
  script(sql: string, onRow: (row: Record<string, unknown>) => void): Promise<void>;
  /** The pid the server (or a pooler) gave at startup, in BackendKeyData. */
  backendKeyPid(): number | null;
}

/** What a run holds while it works: the fence its steps check, and what it learned of the connection. */
interface RunContext {
  readonly fence: Fence;
  /** Connected through a pooler (PgBouncer, …): nothing may rely on session state. */
  readonly pooled: boolean;
  /** Whether the lock is still this run's; asked after a step fails, to tell a lost lock apart. */
  readonly lockHeld: () => Promise<boolean>;
}

/**
 * Behind a pooler the lock transaction pins one server connection for the run, so the
 * work session needs a second: with a pool of one it would wait in the pooler's queue
 * until query_wait_timeout. Say so instead.
 */
async function secondSessionAnswers(db: Session, timeoutMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new RevisorError(
            'ConnectionFailed',
            `behind a connection pooler, revisor's second session got no server connection within ${timeoutMs}ms: ` +
              'a run needs two (one holds the migration lock for the run); raise the pool size for this database and ' +
              'user to at least 2 (PgBouncer: default_pool_size or pool_size)',
          ),
        ),
      timeoutMs,
    );
  });
  try {
    await Promise.race([db.query('SELECT 1'), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export interface MigratorEvents {
  lockWaiting?(holder: LockHolder | null, waitedMs: number): void;
  lockAcquired?(waitedMs: number): void;
  interrupted?(rows: { revision: string; startedAt: Date }[]): void;
  stepStarted?(step: Step): void;
  stepFinished?(step: Step, result: StepResult): void;
  stepRetry?(step: Step, attempt: number, nextLockTimeoutMs: number): void;
  /** An INVALID index left by an interrupted build of this step was dropped before it ran again. */
  invalidIndexDropped?(step: Step, index: string): void;
}

export interface MigratorConfig {
  readonly graph: RevisionGraph;
  /** Opens a new session; the migrator uses one for work and one for the lock. */
  readonly connect: () => Promise<Session>;
  /** How long a silent lock holder keeps the lock (idle_in_transaction_session_timeout of its transaction). */
  readonly lockLeaseMs: number;
  /** How long the second session may wait for a pooled server connection. */
  readonly connectTimeoutMs: number;
  readonly tables: Tables;
  readonly executedBy: string;
  readonly lockWaitMs: number;
  readonly lockTimeoutMs: number;
  readonly lockRetries: number;
  readonly lockRetryPauseMs: number;
  readonly statementTimeoutMs: number;
  readonly transactionMode: 'per-migration' | 'all';
  readonly allowChecksumMismatch: boolean;
  readonly signal?: AbortSignal;
  readonly events?: MigratorEvents;
}

export interface StepResult {
  readonly revision: string;
  readonly direction: Direction | 'stamp';
  readonly status: 'applied' | 'failed' | 'rolled-back' | 'not-run';
  readonly durationMs: number;
}

/** Kysely-style: what was planned, what each step did, and the error that stopped it. */
export interface RunResult {
  readonly plan: Plan | null;
  readonly results: readonly StepResult[];
  readonly lockWaitMs: number;
  readonly error?: RevisorError;
}

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
   * Plans without the lock or any write: what `upgrade`/`downgrade` would do now. It
   * reads only the heads; applied checksums are verified under the lock, once there is
   * work to do, so the no-op costs the same at any length of history.
   */
  async plan(direction: Direction, target: string): Promise<Plan> {
    return plan(this.graph, await this.current(), direction, target);
  }

  /** The plan under the lock: the full state, with applied checksums verified before an upgrade. */
  async #lockedPlan(db: Queryable, direction: Direction, target: string): Promise<Plan> {
    const state = await readState(db, this.#config.tables);
    assertKnownHeads(this.graph, state.heads);
    if (direction === 'upgrade') this.#verifyChecksums(state);
    return plan(this.graph, state.heads, direction, target);
  }

  upgrade(target = 'head'): Promise<RunResult> {
    return this.#run('upgrade', target);
  }

  downgrade(target: string): Promise<RunResult> {
    return this.#run('downgrade', target);
  }

  async #run(direction: Direction, target: string): Promise<RunResult> {
    let planned: Plan | null = null;
    try {
      // Nothing to do is decided without the lock: version rows change only in the
      // same transaction as their DDL, so a committed state is never half-applied.
      planned = await this.plan(direction, target);
      if (planned.steps.length === 0) return { plan: planned, results: [], lockWaitMs: 0 };
    } catch (err) {
      return { plan: planned, results: [], lockWaitMs: 0, error: classify(err) };
    }
    return this.#locked(async (db, run) => {
      await ensureTables(db, this.#config.tables, run.pooled);
      const interrupted = await markInterrupted(db, this.#config.tables);
      if (interrupted.length > 0) this.#config.events?.interrupted?.(interrupted);
      const fresh = await this.#lockedPlan(db, direction, target);
      return this.#execute(db, fresh, run);
    });
  }

  async #locked(
    work: (db: Session, run: RunContext) => Promise<Omit<RunResult, 'lockWaitMs'>>,
  ): Promise<RunResult> {
    const { tables, events } = this.#config;
    let lockDb: Session | null = null;
    let lockWaitMs = 0;
    try {
      const db = await this.#db();
      lockDb = await this.#config.connect();
      const { rows } = await lockDb.query<{ db: string }>('SELECT current_database() AS db');
      const key = lockKey(rows[0]!.db, tables.schema, tables.versionTable);
      const work_ = workKey(rows[0]!.db, tables.schema, tables.versionTable);
      const started = Date.now();
      const held = await acquireLock(lockDb, key, {
        waitMs: this.#config.lockWaitMs,
        leaseMs: this.#config.lockLeaseMs,
        ...(this.#config.signal ? { signal: this.#config.signal } : {}),
        onWait: (holder: LockHolder | null, waited: number) => events?.lockWaiting?.(holder, waited),
      });
      const heartbeat = startHeartbeat(lockDb, this.#config.lockLeaseMs);
      try {
        // A pooler answers the startup with a BackendKeyData of its own, so the pid the
        // session was given is not the pid of the backend that runs its statements.
        const pooled = lockDb.backendKeyPid() !== held.backendPid;
        if (pooled) await secondSessionAnswers(db, this.#config.connectTimeoutMs);
        await waitForWork(db, work_, Math.max(1, this.#config.lockWaitMs - (Date.now() - started)));
        lockWaitMs = Date.now() - started;
        events?.lockAcquired?.(lockWaitMs);
        const fence: Fence = {
          lockKey: key,
          workKey: work_,
          holderPid: held.backendPid,
          leaseMs: this.#config.lockLeaseMs,
        };
        const session = lockDb;
        return {
          ...(await work(db, { fence, pooled, lockHeld: () => lockHeld(session, key, held.backendPid) })),
          lockWaitMs,
        };
      } finally {
        heartbeat.stop();
        await releaseLock(lockDb).catch(() => undefined);
      }
    } catch (err) {
      return { plan: null, results: [], lockWaitMs, error: classify(err) };
    } finally {
      await lockDb?.end().catch(() => undefined);
    }
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
    };
  }

  async #execute(db: Session, planned: Plan, run: RunContext): Promise<Omit<RunResult, 'lockWaitMs'>> {
    const settings = this.#settings(run);
    const results: StepResult[] = [];
    const notRun = (from: number): StepResult[] =>
      planned.steps
        .slice(from)
        .map((s) => ({ revision: s.revision, direction: s.direction, status: 'not-run', durationMs: 0 }));
    const all = this.#config.transactionMode === 'all';
    const appliedInRun: AppliedStep[] = [];
    if (all) {
      const nonTx = planned.steps.filter((s) => !s.migration.transactional).map((s) => s.revision);
      if (nonTx.length > 0) {
        const error = new RevisorError(
          'InvalidPlan',
          `--transaction-mode all cannot include non-transactional revision(s) ${nonTx.join(', ')}; use per-migration`,
          { revisions: nonTx },
        );
        return { plan: planned, results: notRun(0), error };
      }
      await db.query(
        stepPrelude('transaction', settings.lockTimeoutMs, settings.statementTimeoutMs, settings.fence),
      );
    }
    const { events } = this.#config;
    const applied = (step: Step, durationMs: number) => {
      const result: StepResult = {
        revision: step.revision,
        direction: step.direction,
        status: 'applied',
        durationMs,
      };
      results.push(result);
      events?.stepFinished?.(step, result);
    };
    let batchSize = 1;
    for (let index = 0; index < planned.steps.length; ) {
      const step = planned.steps[index]!;
      if (this.#config.signal?.aborted) {
        const error = new RevisorError(
          'Cancelled',
          `stopped before ${step.revision}: ${String(this.#config.signal.reason)}`,
        );
        if (all) await db.query('ROLLBACK').catch(() => undefined);
        return {
          plan: planned,
          results: all ? rolledBack(results, notRun(index)) : [...results, ...notRun(index)],
          error,
        };
      }
      // Behind a pooler a script's staged settings could reach another server connection.
      const group = run.pooled ? [] : batchFrom(planned.steps, index, batchSize);
      let failure: { error: unknown; recovered: boolean } | undefined;
      if (group.length > 1) {
        const began = performance.now();
        events?.stepStarted?.(step);
        const outcome = await runBatch(
          db,
          all ? 'savepoint' : 'transaction',
          group,
          index + 1,
          settings,
          (done) => {
            const i = group.indexOf(done.step);
            if (all) appliedInRun.push(appliedStep(done.step, done.startedAt, done.finishedAt));
            applied(done.step, done.finishedAt.getTime() - done.startedAt.getTime());
            const next = group[i + 1];
            if (next) events?.stepStarted?.(next);
          },
        );
        index += outcome.done.length;
        batchSize = nextBatchSize(batchSize, performance.now() - began);
        failure = outcome.failure;
        // The failing step runs again on its own: that path retries lock timeouts and
        // names the statement that failed.
        if (!failure) continue;
        if (failure.recovered) batchSize = 1;
      }
      const current = planned.steps[index]!;
      const started = performance.now();
      try {
        // The session did not survive the failure: report it as this step's, unretried.
        if (failure && !failure.recovered) throw stepFailure(current, null, failure.error);
        if (group.length <= 1) events?.stepStarted?.(current);
        if (!current.migration.transactional) await runNonTransactionalStep(db, current, settings);
        else {
          const done = await runBlockStep(db, current, settings, all ? 'savepoint' : 'transaction');
          if (done) appliedInRun.push(done);
        }
      } catch (err) {
        const error = (await run.lockHeld()) ? classify(err) : lockLostError(err);
        if (all) await db.query('ROLLBACK').catch(() => undefined);
        const failed: StepResult = {
          revision: current.revision,
          direction: current.direction,
          status: 'failed',
          durationMs: performance.now() - started,
        };
        events?.stepFinished?.(current, failed);
        if (current.migration.transactional) await this.#recordFailure(db, current, error);
        const before = all ? rolledBack(results, []) : results;
        return { plan: planned, results: [...before, failed, ...notRun(index + 1)], error };
      }
      applied(current, performance.now() - started);
      index += 1;
      if (group.length <= 1) batchSize = nextBatchSize(batchSize, performance.now() - started);
    }
    if (all) {
      try {
        await this.#finishRun(db, planned, appliedInRun);
        await db.query('COMMIT');
      } catch (err) {
        await db.query('ROLLBACK').catch(() => undefined);
        return { plan: planned, results: rolledBack(results, []), error: classify(err) };
      }
    }
    return { plan: planned, results };
  }

  /** All-in-one mode: the net version-table change and every step's history row, before COMMIT. */
  async #finishRun(db: Queryable, planned: Plan, applied: readonly AppliedStep[]): Promise<void> {
    const statement = runFinish(
      this.#config.tables,
      planned.fromHeads,
      planned.toHeads,
      applied,
      this.#config.executedBy,
    );
    const { rows } = await db.query<{ deleted: number }>(statement.sql, statement.params);
    const leaving = planned.fromHeads.filter((h) => !planned.toHeads.includes(h)).length;
    if (rows[0]?.deleted !== leaving) {
      throw new RevisorError(
        'MigrationFailed',
        `the version table changed during the run: expected to replace ${leaving} row(s) of ${planned.fromHeads.join(', ')}, ` +
          `found ${rows[0]?.deleted ?? 0}; was it edited by hand? Nothing was committed`,
      );
    }
  }

  /** The audit trail keeps failed attempts too; best effort, the connection may be gone. */
  async #recordFailure(db: Queryable, step: Step, error: RevisorError): Promise<void> {
    await insertHistory(db, this.#config.tables, {
      revision: step.revision,
      direction: step.direction,
      checksum: null,
      startedAt: new Date(),
      executedBy: this.#config.executedBy,
      outcome: 'failed',
      headsAfter: null,
      error: error.message,
    }).catch(() => undefined);
  }

  /** Runs exactly one revision up or down, under the lock (revisor check's staircase). */
  step(revision: string, direction: Direction): Promise<RunResult> {
    return this.#locked(async (db, run) => {
      await ensureTables(db, this.#config.tables, run.pooled);
      const heads = await readHeads(db, this.#config.tables);
      return this.#execute(db, singleStepPlan(this.graph, heads, revision, direction), run);
    });
  }

  /**
   * Sets the version table to `target` without running migrations. --purge first
   * empties it, so a table naming revisions the chain does not know can be reset.
   */
  async stamp(target: string, options: { purge?: boolean } = {}): Promise<RunResult> {
    return this.#locked(async (db, run) => {
      const { tables } = this.#config;
      await ensureTables(db, tables, run.pooled);
      const heads = options.purge ? [] : await readHeads(db, tables);
      const resolved = resolveTarget(this.graph, target, heads);
      const stampPlan = planToward(this.graph, heads, resolved);
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

function rolledBack(done: readonly StepResult[], rest: StepResult[]): StepResult[] {
  return [...done.map((r) => ({ ...r, status: 'rolled-back' as const })), ...rest];
}
