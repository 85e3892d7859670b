import { RevisorError } from '../errors/errors.js';
import {
  type BlockedStep,
  type Blocker,
  type BlockerAction,
  describeBlocked,
  endBlocker,
  readBlockers,
} from '../pg/blockers.js';
import type { Queryable } from '../pg/db.js';
import type { Step } from '../plan/planner.js';

export interface BlockerSettings {
  /** A step still running after this long is looked at for blockers. */
  readonly reportAfterMs: number;
  /** Blockers still there this long after they were first seen have their queries cancelled; null: never. */
  readonly cancelAfterMs: number | null;
  /** With cancelAfterMs: idle-in-transaction blockers (which a cancel does not move) are ended. */
  readonly terminate: boolean;
}

export interface BlockerEvents {
  /** A step waits for a lock others hold: at first sight, when the blockers change, and every 10 s. */
  blocked?(step: Step, blocked: BlockedStep, blockedMs: number): void;
  /** The step that was seen blocked went on (or failed): how long since its blockers were first seen. */
  unblocked?(step: Step, blockedMs: number): void;
  /** What was done to a blocker after cancelAfterMs. */
  blockerEnded?(step: Step, blocker: Blocker, action: BlockerAction): void;
}

const reportEveryMs = 10_000;

export const defaultBlockerSettings: BlockerSettings = {
  reportAfterMs: 1000,
  cancelAfterMs: null,
  terminate: false,
};

/**
 * Looks, from the lock session, at what blocks the running step once it has run past
 * `reportAfterMs`, then every second (sooner with a short lock_timeout, so a step that
 * times out is seen waiting first), and after `cancelAfterMs` ends the blockers it names.
 * Nothing is read while steps finish quickly; a failed look is a missing report, never a
 * failed run.
 */
export class BlockerWatch {
  readonly #db: Queryable;
  readonly #workKey: bigint;
  readonly #settings: BlockerSettings;
  readonly #events: BlockerEvents;
  readonly #pollMs: number;
  #step: Step | null = null;
  #timer: NodeJS.Timeout | null = null;
  #looking: Promise<void> = Promise.resolve();
  #blockedSince: number | null = null;
  #lastReport: { at: number; pids: string } | null = null;
  #lastSeen: BlockedStep | null = null;
  /** Blockers already acted on in this step, by pid and state: each is ended (or left) once. */
  readonly #handled = new Set<string>();
  #stopped = false;

  constructor(
    db: Queryable,
    workKey: bigint,
    settings: BlockerSettings & { readonly lockTimeoutMs: number },
    events: BlockerEvents,
  ) {
    this.#db = db;
    this.#workKey = workKey;
    this.#settings = settings;
    this.#events = events;
    this.#pollMs =
      settings.lockTimeoutMs > 0 ? Math.min(1000, Math.max(50, settings.lockTimeoutMs / 3)) : 1000;
  }

  /** What was last seen blocking the current step: for the error when its lock_timeout gives up. */
  get lastSeen(): BlockedStep | null {
    return this.#lastSeen;
  }

  stepStarted(step: Step): void {
    // A step outside a transaction (CREATE INDEX CONCURRENTLY) is not looked at: it waits
    // for every transaction that takes a snapshot while it builds, the lock's own among
    // them, so a look from the lock session would hold the build until its lock_timeout.
    if (!step.migration.transactional) {
      this.stepFinished();
      return;
    }
    this.#step = step;
    this.#blockedSince = null;
    this.#lastReport = null;
    this.#lastSeen = null;
    this.#handled.clear();
    this.#schedule(this.#settings.reportAfterMs);
  }

  /** lock_timeout fired and the step tries again: it waits again at once, so look soon. */
  stepRetried(step: Step): void {
    if (!step.migration.transactional) return;
    this.#step = step;
    this.#schedule(Math.min(50, this.#pollMs));
  }

  stepFinished(): void {
    const step = this.#step;
    if (step && this.#blockedSince !== null) this.#events.unblocked?.(step, Date.now() - this.#blockedSince);
    this.#step = null;
    this.#blockedSince = null;
    this.#clear();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#clear();
    await this.#looking;
  }

  #clear(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
  }

  #schedule(ms: number): void {
    this.#clear();
    if (this.#stopped) return;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      this.#looking = this.#look().catch(() => undefined);
    }, ms);
    this.#timer.unref();
  }

  async #look(): Promise<void> {
    const step = this.#step;
    if (!step || this.#stopped) return;
    const blocked = await readBlockers(this.#db, this.#workKey);
    if (this.#step !== step || this.#stopped) return;
    if (blocked) {
      const now = Date.now();
      this.#blockedSince ??= now;
      this.#lastSeen = blocked;
      const blockedMs = now - this.#blockedSince;
      const pids = blocked.blockers.map((b) => b.pid).join(',');
      const last = this.#lastReport;
      if (!last || last.pids !== pids || now - last.at >= reportEveryMs) {
        this.#lastReport = { at: now, pids };
        this.#events.blocked?.(step, blocked, blockedMs);
      }
      const { cancelAfterMs, terminate } = this.#settings;
      if (cancelAfterMs !== null && blockedMs >= cancelAfterMs) {
        for (const blocker of blocked.blockers) {
          const key = `${blocker.pid}:${blocker.state}`;
          if (this.#handled.has(key)) continue;
          this.#handled.add(key);
          const action = await endBlocker(this.#db, blocker, terminate);
          this.#events.blockerEnded?.(step, blocker, action);
        }
      }
    }
    this.#schedule(this.#pollMs);
  }
}

/** A step that gave up waiting for a table lock, with who held it when last seen. */
export function namingBlockers(error: RevisorError, lastSeen: BlockedStep | null): RevisorError {
  if (error.code !== 'StepLockTimeout') return error;
  const who = lastSeen
    ? `it ${describeBlocked(lastSeen)}`
    : 'whoever held the lock was not seen (it was held for less than the first look, or not visible to this role)';
  return new RevisorError(
    error.code,
    `${error.message}; ${who}`,
    { ...error.details, ...(lastSeen ? { blockers: lastSeen.blockers } : {}) },
    error.cause,
  );
}
