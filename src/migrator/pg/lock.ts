import { createHash, randomBytes } from 'node:crypto';
import { RevisorError } from '../errors/errors.js';
import { lockTransactionSettings, sqlInteger } from '../sql/step-sql.js';
import { pgCode, type Queryable, sleep, sqlState } from './db.js';

/**
 * The migration lock: a transaction-level advisory lock, taken by a session of its own
 * in a transaction that stays open for the whole run.
 *
 * - A transaction, not a session lock: a transaction-pooling PgBouncer hands a session's
 *   statements to any server connection, so a session lock can be taken on one backend
 *   and left there, held by an idle pooled connection. An open transaction pins its
 *   server connection in every pooling mode, and ends (releasing the lock) when the
 *   client goes: PgBouncer closes a server connection whose client left mid-transaction.
 * - Polled with pg_try_advisory_xact_lock, each try in a short transaction of its own: a
 *   session blocked in pg_advisory_lock holds a snapshot, and CREATE INDEX CONCURRENTLY
 *   run by the holder waits for every such snapshot (a deadlock); a waiter that holds no
 *   transaction between tries pins no pooled connection either.
 * - A lease: the lock transaction sets idle_in_transaction_session_timeout to the lease and
 *   a heartbeat touches it, so a holder that stopped (SIGSTOP, a host gone without closing
 *   its socket) loses the lock after the lease, never holding it longer.
 * - A fence: every step's transaction takes the work key shared and checks that the lock
 *   is still held by this run's lock backend, so a step of a migrator that lost its lock
 *   rolls back; a new holder takes the work key exclusively first, so it plans only after
 *   the old holder's last step has committed or rolled back.
 */
export interface LockHolder {
  readonly pid: number;
  readonly applicationName: string;
  readonly since: string;
  readonly clientAddr: string | null;
}

export interface LockOptions {
  /** How long to wait for another holder, in ms. */
  readonly waitMs: number;
  /** idle_in_transaction_session_timeout of the lock transaction: how long a silent holder keeps it. */
  readonly leaseMs: number;
  readonly signal?: AbortSignal;
  /** What the lock session shows in pg_stat_activity while it holds the lock. */
  readonly applicationName?: string;
  /** Called while waiting, at the first sight of the holder and then every few seconds. */
  readonly onWait?: (holder: LockHolder | null, waitedMs: number) => void;
  readonly initialDelayMs?: number;
  readonly maxDelayMs?: number;
}

/** A signed 64-bit key from database, schema and table, as the advisory lock functions take it. */
export function lockKey(database: string, schema: string, table: string, purpose = 'revisor'): bigint {
  const digest = createHash('sha256').update(`${purpose}\0${database}\0${schema}\0${table}`).digest();
  return digest.readBigInt64BE(0);
}

/** The key step transactions hold shared and a new lock holder takes exclusively (see the fence). */
export function workKey(database: string, schema: string, table: string): bigint {
  return lockKey(database, schema, table, 'revisor-work');
}

/** pg_locks spells a bigint advisory key as two oids and objsubid 1. */
const lockParts = (key: bigint) => {
  const unsigned = BigInt.asUintN(64, key);
  return { classid: unsigned >> 32n, objid: unsigned & 0xffffffffn };
};

/**
 * Who holds the lock. The key's halves are formatted into the text (bigints of ours, not
 * input): asked on the lock session, a bind parameter would leave a snapshot on the lock's
 * transaction (blockers.ts readBlockers says why that matters).
 */
export async function findLockHolder(db: Queryable, key: bigint): Promise<LockHolder | null> {
  const { classid, objid } = lockParts(key);
  const { rows } = await db.query<{
    pid: number;
    application_name: string;
    since: Date;
    client_addr: string | null;
  }>(
    `SELECT a.pid, a.application_name, a.backend_start AS since, a.client_addr::text AS client_addr
       FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
      WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
        AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
        AND l.classid = ${classid.toString()}::bigint::oid AND l.objid = ${objid.toString()}::bigint::oid`,
  );
  const row = rows[0];
  if (!row) return null;
  return {
    pid: row.pid,
    applicationName: row.application_name,
    since: new Date(row.since).toISOString(),
    clientAddr: row.client_addr,
  };
}

export function describeHolder(holder: LockHolder | null): string {
  if (!holder) return 'another session (it released or is not visible to this role)';
  const app = holder.applicationName ? ` "${holder.applicationName}"` : '';
  const from = holder.clientAddr ? ` from ${holder.clientAddr}` : '';
  return `pid ${holder.pid}${app}${from}, connected since ${holder.since}`;
}

/** A session the lock can be polled on, and ended between polls. */
export interface PollSession extends Queryable {
  end(): Promise<void>;
}

/** What a run holds: the session whose open transaction holds the lock, and its backend's pid, which the fence checks. */
export interface HeldLock<S extends PollSession> {
  readonly db: S;
  readonly backendPid: number;
}

/**
 * Takes the lock, or throws LockTimeout/Cancelled. Each try is a short transaction on a
 * session that is ended when the try fails (`first`, then one from `connect` per try): a
 * waiting migrator holds no server connection between tries, so a hundred of them fit in
 * max_connections and none pins a pooler's server connection while it waits. The session
 * of the try that wins keeps its transaction open: it holds the lock for the run.
 * Integers in the SQL text are formatted here, not taken as input.
 */
export async function acquireLock<S extends PollSession>(
  first: S,
  connect: () => Promise<S>,
  key: bigint,
  options: LockOptions,
): Promise<HeldLock<S>> {
  const started = Date.now();
  let delay = options.initialDelayMs ?? 50;
  const maxDelay = options.maxDelayMs ?? 1000;
  let lastReport = -Infinity;
  let holder: LockHolder | null = null;
  let next: S | null = first;
  for (;;) {
    if (options.signal?.aborted) {
      await next?.end().catch(() => undefined);
      throw cancelled(options.signal);
    }
    const db = next ?? (await connect());
    next = null;
    let held = false;
    try {
      await db.query('BEGIN');
      const { rows } = await db.query<{ locked: boolean; pid: number }>(
        'SELECT pg_try_advisory_xact_lock($1::bigint) AS locked, pg_backend_pid() AS pid',
        [String(key)],
      );
      if (rows[0]?.locked) {
        await db.query(lockTransactionSettings(options.leaseMs, options.applicationName));
        held = true;
        return { db, backendPid: rows[0].pid };
      }
      await db.query('ROLLBACK');
      const waited = Date.now() - started;
      if (waited - lastReport >= 5000) {
        holder = await findLockHolder(db, key);
        options.onWait?.(holder, waited);
        lastReport = waited;
      }
      if (waited >= options.waitMs) {
        holder = (await findLockHolder(db, key)) ?? holder;
        throw new RevisorError(
          'LockTimeout',
          `gave up after ${(waited / 1000).toFixed(1)}s waiting for the migration lock, held by ${describeHolder(holder)}; ` +
            'wait for that migration to finish, raise --lock-wait, or end that session if it is stuck',
          { holder, waitedMs: waited },
        );
      }
    } finally {
      if (!held) await db.end().catch(() => undefined);
    }
    const waited = Date.now() - started;
    try {
      await sleep(Math.min(delay * (0.75 + Math.random() / 2), options.waitMs - waited + 1), options.signal);
    } catch {
      throw cancelled(options.signal!);
    }
    delay = Math.min(delay * 2, maxDelay);
  }
}

/** Ends the lock transaction; the lock goes with it. */
export async function releaseLock(db: Queryable): Promise<void> {
  await db.query('ROLLBACK');
}

/**
 * Keeps the lease: a statement in the lock transaction every third of it. A failed beat
 * is not fatal here; the fence stops the next step if the lock is really gone.
 */
export function startHeartbeat(db: Queryable, leaseMs: number): { stop(): void } {
  const timer = setInterval(
    () => {
      db.query('SELECT 1').catch(() => undefined);
    },
    Math.max(100, Math.trunc(leaseMs / 3)),
  );
  timer.unref();
  return { stop: () => clearInterval(timer) };
}

/** Whether the lock backend `pid` still holds `key`; asked after a step fails. */
export async function lockHeld(db: Queryable, key: bigint, pid: number): Promise<boolean> {
  const holder = await findLockHolder(db, key).catch(() => null);
  return holder?.pid === pid;
}

/** What every step's transaction checks; see {@link fenceSql}. */
export interface Fence {
  readonly lockKey: bigint;
  readonly workKey: bigint;
  /**
   * A key of this run alone, which its lock session holds in the lock transaction: while
   * a step cannot take it, the lock session, and with it the lock, is still there. A
   * lookup in the lock table, where asking pg_locks for the holder copies all of it.
   */
  readonly runKey: bigint;
  readonly holderPid: number;
  readonly leaseMs: number;
}

/** A new run key (see Fence.runKey): random, so no other run or application holds it. */
export const newRunKey = (): bigint => randomBytes(8).readBigInt64BE(0);

/** Taken by the lock session in the lock transaction, right after the lock. */
export const holdRunKeySql = (runKey: bigint): string => `SELECT pg_advisory_xact_lock(${runKey.toString()})`;

/**
 * The fence as SQL text for a step's transaction (scripts carry no bind parameters; the
 * text holds only integers formatted here), in two statements: an idle timeout, so a
 * step left idle by a stopped client cannot hold the work key forever, and a client check
 * interval, so a step whose client died (or whose pooler dropped it) stops within a second
 * instead of running on with it; then the work key shared and the holder check. All are
 * transaction-local, so nothing leaks to a pooled connection.
 */
export function fenceSql(fence: Fence): string {
  return [
    `SELECT set_config('idle_in_transaction_session_timeout', '${sqlInteger(fence.leaseMs)}', true), ` +
      "CASE WHEN current_setting('server_version_num')::int >= 140000 THEN set_config('client_connection_check_interval', '1000', true) END",
    `SELECT pg_advisory_xact_lock_shared(${fence.workKey.toString()}), ${holderCheck(fence)}`,
  ].join('; ');
}

const holderCheck = (fence: Fence) =>
  `CASE WHEN pg_try_advisory_xact_lock_shared(${fence.runKey.toString()}) ` +
  "THEN ('revisor: migration lock lost ' || pg_backend_pid())::int ELSE 0 END AS revisor_fence";

/**
 * That the lock is still held by this run's lock session; alone, it runs before each
 * statement of a non-transactional step. SQL has no RAISE, so it fails by casting a text
 * that is not a number; the runner then asks {@link lockHeld} and reports the lost lock
 * as such.
 */
export function holderCheckSql(fence: Fence): string {
  return `SELECT ${holderCheck(fence)}`;
}

/**
 * Waits until no step of an earlier holder is still in its transaction: a killed
 * migrator's lock session ends at once, but its work session can run on until the server
 * notices. Bounded by `waitMs` (lock_timeout), so a step left running does not hang the run.
 */
export async function waitForWork(db: Queryable, key: bigint, waitMs: number): Promise<void> {
  await db.query('BEGIN');
  try {
    await db.query(`SET LOCAL lock_timeout = ${sqlInteger(waitMs)}`);
    await db.query('SELECT pg_advisory_xact_lock($1::bigint)', [String(key)]);
  } catch (err) {
    await db.query('ROLLBACK').catch(() => undefined);
    if (pgCode(err) !== sqlState.lockNotAvailable) throw err;
    const holder = await findLockHolder(db, key).catch(() => null);
    throw new RevisorError(
      'LockTimeout',
      `a step of an earlier migrator is still running on ${describeHolder(holder)} (its process is gone, its ` +
        'server session is not); wait for it to end or end it (pg_terminate_backend), then rerun',
      { holder },
    );
  }
  await db.query('COMMIT');
}

/** The lost lock, as the runner reports a step the fence stopped. */
export function lockLostError(cause: unknown): RevisorError {
  return new RevisorError(
    'ConnectionFailed',
    'lost the migration lock during the run (its session ended, or the process was stopped longer than ' +
      '--lock-lease); the step was rolled back and nothing after it ran: rerun',
    {},
    cause,
  );
}

function cancelled(signal: AbortSignal): RevisorError {
  return new RevisorError(
    'Cancelled',
    `stopped while waiting for the migration lock (${String(signal.reason)})`,
  );
}
