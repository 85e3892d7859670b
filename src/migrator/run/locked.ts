import { RevisorError } from '../errors/errors.js';
import type { Queryable } from '../pg/db.js';
import {
  acquireLock,
  type Fence,
  holdRunKeySql,
  type LockHolder,
  lockHeld,
  lockKey,
  newRunKey,
  releaseLock,
  startHeartbeat,
  waitForWork,
  workKey,
} from '../pg/lock.js';
import type { Tables } from '../sql/bookkeeping.js';
import type { Session } from './session.js';

/** What a run holds while it works: the fence its steps check, and what it learned of the connection. */
export interface RunContext {
  readonly fence: Fence;
  /** Connected through a pooler (PgBouncer, …): nothing may rely on session state. */
  readonly pooled: boolean;
  /** Whether the lock is still this run's; asked after a step fails, to tell a lost lock apart. */
  readonly lockHeld: () => Promise<boolean>;
  /** The lock session, free for reads while steps run: who blocks them (blocker-watch.ts). */
  readonly observer: Queryable;
}

export interface LockSettings {
  readonly tables: Tables;
  readonly lockWaitMs: number;
  readonly lockLeaseMs: number;
  readonly connectTimeoutMs: number;
  readonly signal?: AbortSignal;
  /** The run's name on its lock session (pg_stat_activity), when its sessions are shared. */
  readonly applicationName?: string;
  readonly onWait?: (holder: LockHolder | null, waitedMs: number) => void;
}

/**
 * Runs `work` under the migration lock (pg/lock.ts) and returns how long the lock took as
 * well. The lock is polled on `first` (the session that planned), then on short-lived
 * sessions from `connect`, so a waiting run holds no connection between polls; the session
 * whose try wins holds the lock, and only then is the work session opened (`openWork`):
 * a run holds two connections while it works, one while it polls, none in between. The
 * lock is given up however `work` ends, and by the server if the process dies.
 */
export async function withLock<T>(
  first: Session,
  connect: () => Promise<Session>,
  openWork: () => Promise<Session>,
  settings: LockSettings,
  work: (db: Session, run: RunContext, lockWaitMs: number) => Promise<T>,
): Promise<T> {
  const started = Date.now();
  let keys: { lock: bigint; work: bigint };
  try {
    const { rows } = await first.query<{ db: string }>('SELECT current_database() AS db');
    const { schema, versionTable } = settings.tables;
    keys = {
      lock: lockKey(rows[0]!.db, schema, versionTable),
      work: workKey(rows[0]!.db, schema, versionTable),
    };
  } catch (err) {
    await first.end().catch(() => undefined);
    throw err;
  }
  const held = await acquireLock(first, connect, keys.lock, {
    waitMs: settings.lockWaitMs,
    leaseMs: settings.lockLeaseMs,
    ...(settings.signal ? { signal: settings.signal } : {}),
    ...(settings.applicationName ? { applicationName: settings.applicationName } : {}),
    ...(settings.onWait ? { onWait: settings.onWait } : {}),
  });
  const lockDb = held.db;
  try {
    const heartbeat = startHeartbeat(lockDb, settings.lockLeaseMs);
    try {
      // A pooler answers the startup with a BackendKeyData of its own, so the pid the
      // session was given is not the pid of the backend that runs its statements.
      const pooled = lockDb.backendKeyPid() !== held.backendPid;
      const db = pooled ? await secondSessionWithin(openWork, settings.connectTimeoutMs) : await openWork();
      await waitForWork(db, keys.work, Math.max(1, settings.lockWaitMs - (Date.now() - started)));
      const fence: Fence = {
        lockKey: keys.lock,
        workKey: keys.work,
        runKey: newRunKey(),
        holderPid: held.backendPid,
        leaseMs: settings.lockLeaseMs,
      };
      await lockDb.query(holdRunKeySql(fence.runKey));
      return await work(
        db,
        { fence, pooled, lockHeld: () => lockHeld(lockDb, keys.lock, held.backendPid), observer: lockDb },
        Date.now() - started,
      );
    } finally {
      heartbeat.stop();
      await releaseLock(lockDb).catch(() => undefined);
    }
  } finally {
    await lockDb.end().catch(() => undefined);
  }
}

/**
 * Behind a pooler the lock transaction pins one server connection for the run, so the
 * work session needs a second: with a pool of one it would wait in the pooler's queue
 * until query_wait_timeout. Say so, within the connect timeout, instead.
 */
async function secondSessionWithin(openWork: () => Promise<Session>, timeoutMs: number): Promise<Session> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new RevisorError(
            'ConnectionFailed',
            `behind a connection pooler, revisor's second session got no server connection within ${timeoutMs}ms: ` +
              'a run needs two server connections while it works (one holds the migration lock for the run, the ' +
              'other runs the steps; a waiting run needs one between its polls): raise the pool size for this ' +
              'database and user to at least 2 (PgBouncer: default_pool_size or pool_size)',
          ),
        ),
      timeoutMs,
    );
  });
  const opening = openWork().then(async (db) => {
    await db.query('SELECT 1');
    return db;
  });
  try {
    return await Promise.race([opening, timeout]);
  } catch (err) {
    // The session may still arrive after the timeout: it is closed then, not leaked.
    opening
      .then(
        (db) => db.end(),
        () => undefined,
      )
      .catch(() => undefined);
    throw err;
  } finally {
    clearTimeout(timer);
  }
}
