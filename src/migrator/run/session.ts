import type { Queryable } from '../pg/db.js';

/** A database session as the migrator uses it; pg-session.ts makes one from a pg.Client. */
export interface Session extends Queryable {
  /**
   * Ends the session. `waitForServer: false` sends Terminate and closes at once, as the
   * protocol has it, without waiting for the server to close its side (a backend's exit,
   * ~2 ms): for a process about to exit, where no later connect competes for the slot.
   */
  end(options?: { readonly waitForServer?: boolean }): Promise<void>;
  /**
   * Runs a multi-statement script over the simple protocol. Rows reach `onRow` as they
   * arrive, including those of statements that completed before a failing one.
   */
  script(sql: string, onRow: (row: Record<string, unknown>) => void): Promise<void>;
  /** The pid the server (or a pooler) gave at startup, in BackendKeyData. */
  backendKeyPid(): number | null;
}
