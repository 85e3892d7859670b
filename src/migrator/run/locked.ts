import { RevisorError } from '../errors/errors.js';
import {
  acquireLock,
  type Fence,
  type LockHolder,
  lockHeld,
  lockKey,
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
}

export interface LockSettings {
  readonly tables: Tables;
  readonly lockWaitMs: number;
  readonly lockLeaseMs: number;
  readonly connectTimeoutMs: number;
  readonly signal?: AbortSignal;
  readonly onWait?: (holder: LockHolder | null, waitedMs: number) => void;
}

/**
 * Runs `work` on `db` under the migration lock (pg/lock.ts), held by a second session
 * opened with `connect`, and returns how long the lock took as well. The lock is given up
 * however `work` ends, and by the server if the process dies.
 */
export async function withLock<T>(
  db: Session,
  connect: () => Promise<Session>,
  settings: LockSettings,
  work: (run: RunContext, lockWaitMs: number) => Promise<T>,
): Promise<T> {
  const lockDb = await connect();
  try {
    const { rows } = await lockDb.query<{ db: string }>('SELECT current_database() AS db');
    const { schema, versionTable } = settings.tables;
    const key = lockKey(rows[0]!.db, schema, versionTable);
    const fenceKey = workKey(rows[0]!.db, schema, versionTable);
    const started = Date.now();
    const held = await acquireLock(lockDb, key, {
      waitMs: settings.lockWaitMs,
      leaseMs: settings.lockLeaseMs,
      ...(settings.signal ? { signal: settings.signal } : {}),
      ...(settings.onWait ? { onWait: settings.onWait } : {}),
    });
    const heartbeat = startHeartbeat(lockDb, settings.lockLeaseMs);
    try {
      // A pooler answers the startup with a BackendKeyData of its own, so the pid the
      // session was given is not the pid of the backend that runs its statements.
      const pooled = lockDb.backendKeyPid() !== held.backendPid;
      if (pooled) await secondSessionAnswers(db, settings.connectTimeoutMs);
      await waitForWork(db, fenceKey, Math.max(1, settings.lockWaitMs - (Date.now() - started)));
      const fence: Fence = {
        lockKey: key,
        workKey: fenceKey,
        holderPid: held.backendPid,
        leaseMs: settings.lockLeaseMs,
      };
      return await work(
        { fence, pooled, lockHeld: () => lockHeld(lockDb, key, held.backendPid) },
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
