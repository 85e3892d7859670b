import { createHash } from 'node:crypto';
import type { Session } from '../run/session.js';
import type { ConnectionOptions } from './connection.js';
import { pgCode, sqlState } from './db.js';
import { sessionFactory } from './pg-session.js';

export interface SessionPoolOptions {
  /** How long a returned session stays open for the next user of the same database. */
  readonly idleTimeoutMs: number;
  /** Idle sessions kept for one database. */
  readonly maxIdlePerDatabase: number;
  /** Idle sessions kept in all; past it the session coming back is closed. */
  readonly maxIdle: number;
  /**
   * The name sessions open under. A session serves every user of its database and
   * credentials, so it names the process, not one user's connection; a run names itself
   * on its lock session (MigratorConfig.applicationName). Absent: each connection's own,
   * and a session serves only connections of that name.
   */
  readonly applicationName?: string;
}

interface Idle {
  readonly key: string;
  readonly server: string;
  readonly session: Session;
  readonly timer: NodeJS.Timeout;
}

/**
 * Sessions kept open between uses, per database and credentials, so a controller's
 * periodic look at a Ready database is one query on a warm connection rather than a new
 * TCP, TLS and SCRAM handshake. A session comes back through `end()`, is reset with
 * DISCARD ALL (settings, advisory locks, temporary tables), and is closed instead when
 * that fails: in a transaction, or on a dead connection.
 *
 * pg.Pool does not serve: its clients are made before the pool lends them, so the
 * SCRAM-only authentication hook of sessionFactory cannot be put on them, and it does
 * not reset what a migrator's session leaves behind.
 */
export class SessionPool {
  readonly #options: SessionPoolOptions;
  // Insertion order is idle order: the first entry has been idle longest.
  readonly #idle = new Set<Idle>();
  // The same sessions by database and by server: a reconcile's take and return look up
  // its own, instead of walking a thousand idle entries twice.
  readonly #idleOf = new Map<string, Idle[]>();
  readonly #idleOnServer = new Map<string, number>();
  /** Idle sessions a server was seen to leave room for: learned when it refused one more. */
  readonly #serverCaps = new Map<string, number>();
  /** Sessions being reset on their way back, with their key. */
  readonly #returning = new Map<Promise<void>, string>();
  #closed = false;

  constructor(options: SessionPoolOptions) {
    this.#options = options;
  }

  /** Opens sessions for `connection`, reusing an idle one of the same database and credentials. */
  factory(requested: ConnectionOptions): () => Promise<Session> {
    const { applicationName } = this.#options;
    const connection = applicationName ? { ...requested, applicationName } : requested;
    const key = createHash('sha256').update(JSON.stringify(connection)).digest('hex');
    const server = serverOf(connection);
    // Made on first need: a reconcile that finds an idle session parses no connection string.
    const open = () => sessionFactory(connection, { waitForSlot: false })();
    const openWaiting = () => sessionFactory(connection)();
    return async () => {
      for (;;) {
        const idle = this.#idleOf.get(key)?.at(-1);
        if (idle) {
          this.#forget(idle);
          return this.#lend(key, server, idle.session);
        }
        // A session of this database still being reset is a moment from idle: wait for it
        // rather than open another.
        const resetting = [...this.#returning].find(([, of]) => of === key)?.[0];
        if (!resetting) break;
        await resetting;
      }
      try {
        return this.#lend(key, server, await open());
      } catch (err) {
        // The server is out of connection slots (max_connections, or the role's limit),
        // and this pool may be what fills them: idle sessions make way, once; then the
        // open waits for a slot as any other would.
        if (pgCode((err as Error).cause) !== sqlState.tooManyConnections) throw err;
        await this.#makeRoom(server);
        return this.#lend(key, server, await openWaiting());
      }
    };
  }

  /**
   * Closes the oldest quarter (at least one) of a server's idle sessions, and keeps no
   * more than what is left from then on. False when there was nothing to close.
   */
  async #makeRoom(server: string): Promise<boolean> {
    const ofServer = [...this.#idle].filter((i) => i.server === server);
    if (ofServer.length === 0) return false;
    const keep = Math.floor((ofServer.length * 3) / 4);
    this.#serverCaps.set(server, keep);
    await Promise.all(ofServer.slice(0, ofServer.length - keep).map((idle) => this.#drop(idle)));
    return true;
  }

  get idleCount(): number {
    return this.#idle.size;
  }

  #lend(key: string, server: string, session: Session): Session {
    let returned: Promise<void> | null = null;
    return {
      query: (text, values) => session.query(text, values),
      script: (text, onRow) => session.script(text, onRow),
      backendKeyPid: () => session.backendKeyPid(),
      // The reset (DISCARD ALL) goes on after end() resolves: it is the pool's work, not the
      // caller's, and close() waits for it.
      end: () => {
        if (!returned) {
          const pending: Promise<void> = this.#giveBack(key, server, session)
            .catch(() => undefined)
            .then(() => {
              this.#returning.delete(pending);
            });
          this.#returning.set(pending, key);
          returned = pending;
        }
        return Promise.resolve();
      },
    };
  }

  async #giveBack(key: string, server: string, session: Session): Promise<void> {
    const close = () => session.end().catch(() => undefined);
    try {
      await session.query('DISCARD ALL');
    } catch {
      return close();
    }
    const ofDatabase = this.#idleOf.get(key)?.length ?? 0;
    const ofServer = this.#idleOnServer.get(server) ?? 0;
    if (
      this.#closed ||
      // Full, the sessions already idle stay and the one coming back closes. The controller
      // visits its resources in a cycle (the resync): closing the longest idle instead would
      // close exactly the one the cycle needs next, and a pool smaller than the cycle would
      // never be hit (at 2,000 databases and 1,000 idle, every resync connected anew).
      this.#idle.size >= this.#options.maxIdle ||
      ofDatabase >= this.#options.maxIdlePerDatabase ||
      ofServer >= (this.#serverCaps.get(server) ?? Number.POSITIVE_INFINITY)
    )
      return close();
    const entry: Idle = {
      key,
      server,
      session,
      timer: setTimeout(() => void this.#drop(entry), this.#options.idleTimeoutMs).unref(),
    };
    this.#idle.add(entry);
    this.#idleOf.set(key, [...(this.#idleOf.get(key) ?? []), entry]);
    this.#idleOnServer.set(server, ofServer + 1);
  }

  /** Takes an idle session out of the pool's books (to lend or to close it). */
  #forget(idle: Idle): void {
    clearTimeout(idle.timer);
    if (!this.#idle.delete(idle)) return;
    const ofKey = (this.#idleOf.get(idle.key) ?? []).filter((i) => i !== idle);
    if (ofKey.length > 0) this.#idleOf.set(idle.key, ofKey);
    else this.#idleOf.delete(idle.key);
    const onServer = (this.#idleOnServer.get(idle.server) ?? 1) - 1;
    if (onServer > 0) this.#idleOnServer.set(idle.server, onServer);
    else this.#idleOnServer.delete(idle.server);
  }

  #drop(idle: Idle): Promise<void> {
    this.#forget(idle);
    return idle.session.end().catch(() => undefined);
  }

  /** Closes the idle sessions; sessions lent out are closed when they come back. */
  async close(): Promise<void> {
    this.#closed = true;
    await Promise.all(this.#returning.keys());
    await Promise.all([...this.#idle].map((idle) => this.#drop(idle)));
  }
}

/** The server a connection reaches (host and port): the scope of its connection slots. */
function serverOf(connection: ConnectionOptions): string {
  try {
    const url = new URL(connection.url ?? '');
    return `${url.hostname}:${url.port || '5432'}`;
  } catch {
    return '';
  }
}
