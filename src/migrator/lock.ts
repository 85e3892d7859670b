import { createHash } from 'node:crypto';
import { type Queryable, sleep } from './db.js';
import { RevisorError } from './errors.js';

/**
 * The migration lock: a session-level advisory lock held by a connection of its own,
 * never inside a migration transaction. It is taken by polling pg_try_advisory_lock,
 * because a session blocked in pg_advisory_lock holds a snapshot, and CREATE INDEX
 * CONCURRENTLY run by the lock's holder waits for every such snapshot: a deadlock.
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
  readonly signal?: AbortSignal;
  /** Called while waiting, at the first sight of the holder and then every few seconds. */
  readonly onWait?: (holder: LockHolder | null, waitedMs: number) => void;
  readonly initialDelayMs?: number;
  readonly maxDelayMs?: number;
}

/** A signed 64-bit key from database, schema and table, as pg_advisory_lock takes it. */
export function lockKey(database: string, schema: string, table: string, purpose = 'revisor'): bigint {
  const digest = createHash('sha256').update(`${purpose}\0${database}\0${schema}\0${table}`).digest();
  return digest.readBigInt64BE(0);
}

/**
 * The key the work session holds while it migrates. A killed migrator's lock session
 * ends at once, but its work session runs on (and may commit the rest of its script)
 * until the server notices the client is gone; the next migrator waits for this key
 * too, so it never plans against a database that is still changing.
 */
export function workKey(database: string, schema: string, table: string): bigint {
  return lockKey(database, schema, table, 'revisor-work');
}

export async function findLockHolder(db: Queryable, key: bigint): Promise<LockHolder | null> {
  const unsigned = BigInt.asUintN(64, key);
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
        AND l.classid = $1::bigint::oid AND l.objid = $2::bigint::oid`,
    [String(unsigned >> 32n), String(unsigned & 0xffffffffn)],
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

/** Takes the lock on `db` (a dedicated session) or throws LockTimeout/Cancelled. */
export async function acquireLock(db: Queryable, key: bigint, options: LockOptions): Promise<void> {
  const started = Date.now();
  let delay = options.initialDelayMs ?? 50;
  const maxDelay = options.maxDelayMs ?? 1000;
  let lastReport = -Infinity;
  let holder: LockHolder | null = null;
  for (;;) {
    if (options.signal?.aborted) throw cancelled(options.signal);
    const { rows } = await db.query<{ locked: boolean }>(
      'SELECT pg_try_advisory_lock($1::bigint) AS locked',
      [String(key)],
    );
    if (rows[0]?.locked) return;
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
    try {
      await sleep(Math.min(delay * (0.75 + Math.random() / 2), options.waitMs - waited + 1), options.signal);
    } catch {
      throw cancelled(options.signal!);
    }
    delay = Math.min(delay * 2, maxDelay);
  }
}

export async function releaseLock(db: Queryable, key: bigint): Promise<void> {
  await db.query('SELECT pg_advisory_unlock($1::bigint)', [String(key)]);
}

function cancelled(signal: AbortSignal): RevisorError {
  return new RevisorError(
    'Cancelled',
    `stopped while waiting for the migration lock (${String(signal.reason)})`,
  );
}
