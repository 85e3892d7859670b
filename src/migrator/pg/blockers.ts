import { sqlInteger } from '../sql/step-sql.js';
import { pgCode, type Queryable } from './db.js';

/**
 * Who blocks a step: the sessions pg_blocking_pids names for a backend of this run that
 * waits for a lock. What is read of them identifies them and says how long they have held
 * their transaction, and what kind of statement they run (its first word), never the
 * statement's text: literals in it may be anyone's data.
 */
export interface Blocker {
  readonly pid: number;
  readonly user: string | null;
  readonly applicationName: string | null;
  /** active, idle in transaction, …; null when this role may not see it. */
  readonly state: string | null;
  /** client backend, autovacuum worker, … */
  readonly backendType: string | null;
  readonly transactionMs: number | null;
  /** SELECT, UPDATE, COPY, …: the first word of its current (or, idle, its last) statement. */
  readonly command: string | null;
}

export interface BlockedStep {
  /** The relation the step waits for and the lock mode it asks, when it waits for a relation. */
  readonly relation: string | null;
  readonly mode: string | null;
  readonly blockers: readonly Blocker[];
}

/**
 * The blockers of this run's waiting backends: those holding the run's work key (every
 * step transaction takes it shared, pg/lock.ts fenceSql). The lock session asks from inside
 * its open transaction, where pg_stat_activity would be the snapshot taken at its first
 * read: the snapshot is dropped first, and time is the clock's, not the transaction's. The
 * keys are integers formatted here, in the text, not bind parameters: a statement of the
 * extended protocol leaves its portal, and with it a snapshot (an xmin), on the lock's
 * transaction until the next statement, which would hold back vacuum and make a
 * CREATE INDEX CONCURRENTLY wait for the whole run.
 */
export async function readBlockers(db: Queryable, workKey: bigint): Promise<BlockedStep | null> {
  await db.query('SELECT pg_stat_clear_snapshot()');
  const unsigned = BigInt.asUintN(64, workKey);
  const { rows } = await db.query<{
    waiting: number;
    relation: string | null;
    mode: string | null;
    pid: number;
    usename: string | null;
    application_name: string | null;
    state: string | null;
    backend_type: string | null;
    xact_ms: number | null;
    command: string | null;
  }>(
    `WITH ours AS (
       SELECT a.pid FROM pg_stat_activity a
        WHERE a.wait_event_type = 'Lock'
          AND a.pid IN (
                SELECT l.pid FROM pg_locks l
                 WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
                   AND l.classid = ${String(unsigned >> 32n)}::bigint::oid
                   AND l.objid = ${String(unsigned & 0xffffffffn)}::bigint::oid))
     SELECT o.pid AS waiting, w.relation, w.mode, b.pid, b.usename, b.application_name, b.state,
            b.backend_type,
            (extract(epoch FROM clock_timestamp() - b.xact_start) * 1000)::float8 AS xact_ms,
            upper(substring(b.query FROM '^\\s*([A-Za-z]+)')) AS command
       FROM ours o
       CROSS JOIN LATERAL unnest(pg_blocking_pids(o.pid)) AS blocking(pid)
       JOIN pg_stat_activity b ON b.pid = blocking.pid
       LEFT JOIN LATERAL (
         SELECT l.relation::regclass::text AS relation, l.mode FROM pg_locks l
          WHERE l.pid = o.pid AND NOT l.granted LIMIT 1) w ON true
      ORDER BY b.xact_start NULLS LAST, b.pid`,
  );
  if (rows.length === 0) return null;
  const seen = new Set<number>();
  const blockers: Blocker[] = [];
  for (const r of rows) {
    if (seen.has(r.pid)) continue;
    seen.add(r.pid);
    blockers.push({
      pid: r.pid,
      user: r.usename,
      applicationName: r.application_name,
      state: r.state,
      backendType: r.backend_type,
      transactionMs: r.xact_ms === null ? null : Math.round(r.xact_ms),
      command: r.command,
    });
  }
  return { relation: rows[0]!.relation, mode: rows[0]!.mode, blockers };
}

const seconds = (ms: number) => (ms < 10_000 ? `${(ms / 1000).toFixed(1)}s` : `${Math.round(ms / 1000)}s`);

export function describeBlocker(b: Blocker): string {
  const parts = [
    b.user ? `user ${b.user}` : null,
    b.applicationName ? `application "${b.applicationName}"` : null,
    b.backendType && b.backendType !== 'client backend' ? b.backendType : null,
    b.state ?? 'state not visible to this role',
    b.transactionMs !== null ? `transaction open ${seconds(b.transactionMs)}` : null,
    b.command ? `${b.state === 'active' ? 'running' : 'last ran'} ${b.command}` : null,
  ].filter(Boolean);
  return `pid ${b.pid} (${parts.join(', ')})`;
}

/** "waits for ACCESS EXCLUSIVE on public.events, blocked by pid 41 (…); pid 42 (…)". */
export function describeBlocked(blocked: BlockedStep): string {
  const mode = blocked.mode
    ? blocked.mode
        .replace(/Lock$/, '')
        .replace(/([a-z])([A-Z])/g, '$1 $2')
        .toUpperCase()
    : '';
  const target = blocked.relation ? `${mode ? `${mode} on ` : 'a lock on '}${blocked.relation}` : 'a lock';
  return `waits for ${target}, blocked by ${blocked.blockers.map(describeBlocker).join('; ')}`;
}

const insufficientPrivilege = '42501';

export type BlockerAction = 'cancelled' | 'terminated' | 'gone' | 'not-permitted' | 'left';

/**
 * Cancels a blocker's query (pg_cancel_backend), or with `terminate` ends an idle-in-
 * transaction session (pg_terminate_backend), which a cancel would not move. In a
 * savepoint: a role without the privilege gets an error, which must not abort the lock
 * session's transaction, and with it the run's lock.
 */
export async function endBlocker(
  db: Queryable,
  blocker: Blocker,
  terminate: boolean,
): Promise<BlockerAction> {
  const idle = blocker.state?.startsWith('idle in transaction') ?? false;
  if (idle && !terminate) return 'left';
  const call = idle ? 'pg_terminate_backend' : 'pg_cancel_backend';
  await db.query('SAVEPOINT revisor_end_blocker');
  try {
    // The pid in the text, not a parameter: see readBlockers.
    const { rows } = await db.query<{ done: boolean }>(`SELECT ${call}(${sqlInteger(blocker.pid)}) AS done`);
    await db.query('RELEASE SAVEPOINT revisor_end_blocker');
    if (!rows[0]?.done) return 'gone';
    return idle ? 'terminated' : 'cancelled';
  } catch (err) {
    await db.query('ROLLBACK TO SAVEPOINT revisor_end_blocker');
    if (pgCode(err) === insufficientPrivilege) return 'not-permitted';
    throw err;
  }
}

/** What --cancel-blockers-after did to one blocker, for the log, status and an Event. */
export function blockerEndedMessage(revision: string, blocker: Blocker, action: BlockerAction): string {
  const who = describeBlocker(blocker);
  switch (action) {
    case 'cancelled':
      return `cancelled the query of ${who}, which blocked ${revision}`;
    case 'terminated':
      return `ended the idle-in-transaction session ${who}, which blocked ${revision}`;
    case 'gone':
      return `${who} ended before it could be cancelled`;
    case 'left':
      return `${who} blocks ${revision} idle in its transaction, which a cancel does not end: add --terminate-blockers to end such sessions, or end it (pg_terminate_backend(${blocker.pid}))`;
    case 'not-permitted':
      return `may not cancel ${who}, which blocks ${revision}: the role needs pg_signal_backend (or to be the blocker's role); the step goes on waiting as without --cancel-blockers-after`;
    default: {
      const unhandled: never = action;
      return unhandled;
    }
  }
}
