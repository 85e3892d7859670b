/**
 * A work queue keyed by object: a key waits at most once, a key is handled by one worker
 * at a time (re-added while running, it runs again after), at most `concurrency`
 * handlers run, and a handler that throws is retried with exponential backoff per key.
 *
 * A handler's own requeue (a Ready resource's resync, a poll) waits behind every change:
 * when a rollout of hundreds of resources keeps the workers busy, the periodic looks at
 * those already done come after it instead of taking turns with it (controller-runtime's
 * priority queue does the same). A change to a key waiting for its periodic look moves
 * it ahead. The cost is that a queue never empty of changes puts off periodic looks.
 */
export interface QueueOptions {
  readonly concurrency: number;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
  /**
   * A handler's requeue is stretched by up to this fraction, at random: resources that
   * became Ready together would otherwise come due together at every resync, a burst on
   * the database and the API server instead of an even trickle (client-go's JitterUntil).
   */
  readonly requeueJitter?: number;
  /** Injectable for tests. */
  readonly setTimer?: (fn: () => void, ms: number) => { cancel(): void };
  readonly random?: () => number;
}

/** Why a key is queued: something changed (a watch event, a retry), or its period came round. */
export type Priority = 'change' | 'periodic';

export type Handler<K extends string = string> = (key: K) => Promise<{ requeueAfterMs: number | null }>;

const defaultTimer = (fn: () => void, ms: number) => {
  const t = setTimeout(fn, ms);
  t.unref?.();
  return { cancel: () => clearTimeout(t) };
};

export class WorkQueue<K extends string = string> {
  readonly #handler: Handler<K>;
  readonly #options: QueueOptions;
  // Insertion-ordered sets: first in, first out, and a key found or moved in O(1).
  readonly #changes = new Set<K>();
  readonly #periodic = new Set<K>();
  readonly #running = new Set<K>();
  // Keys added while they ran, to run again after, with the priority they were added at
  // (a change outranks a periodic look).
  readonly #dirty = new Map<K, Priority>();
  readonly #timers = new Map<K, { cancel(): void }>();
  readonly #failures = new Map<K, number>();
  readonly #inFlight = new Set<Promise<void>>();
  #shuttingDown = false;

  constructor(handler: Handler<K>, options: QueueOptions) {
    this.#handler = handler;
    this.#options = options;
  }

  get length(): number {
    return this.#changes.size + this.#periodic.size;
  }

  add(key: K, priority: Priority = 'change'): void {
    if (this.#shuttingDown) return;
    if (this.#running.has(key)) {
      if (this.#dirty.get(key) !== 'change') this.#dirty.set(key, priority);
      return;
    }
    if (this.#changes.has(key)) return;
    if (this.#periodic.has(key)) {
      if (priority === 'periodic') return;
      this.#periodic.delete(key);
    }
    (priority === 'change' ? this.#changes : this.#periodic).add(key);
    this.#pump();
  }

  /** Adds the key after `ms`; a later call for the same key replaces the earlier timer. */
  addAfter(key: K, ms: number, priority: Priority = 'change'): void {
    if (this.#shuttingDown) return;
    this.#timers.get(key)?.cancel();
    const timer = (this.#options.setTimer ?? defaultTimer)(() => {
      this.#timers.delete(key);
      this.add(key, priority);
    }, ms);
    this.#timers.set(key, timer);
  }

  /** Drops the key's timer and failure count (the object is gone). */
  forget(key: K): void {
    this.#timers.get(key)?.cancel();
    this.#timers.delete(key);
    this.#failures.delete(key);
  }

  #pump(): void {
    while (!this.#shuttingDown && this.#running.size < this.#options.concurrency && this.length > 0) {
      const from = this.#changes.size > 0 ? this.#changes : this.#periodic;
      const key = from.values().next().value as K;
      from.delete(key);
      this.#running.add(key);
      const run = this.#run(key).finally(() => {
        this.#inFlight.delete(run);
        this.#running.delete(key);
        const again = this.#dirty.get(key);
        this.#dirty.delete(key);
        if (again) this.add(key, again);
        this.#pump();
      });
      this.#inFlight.add(run);
    }
  }

  async #run(key: K): Promise<void> {
    try {
      const { requeueAfterMs } = await this.#handler(key);
      this.#failures.delete(key);
      if (requeueAfterMs !== null) {
        const stretch = (this.#options.requeueJitter ?? 0) * (this.#options.random ?? Math.random)();
        this.addAfter(key, Math.round(requeueAfterMs * (1 + stretch)), 'periodic');
      }
    } catch {
      const failures = (this.#failures.get(key) ?? 0) + 1;
      this.#failures.set(key, failures);
      this.addAfter(key, Math.min(this.#options.baseDelayMs * 2 ** (failures - 1), this.#options.maxDelayMs));
    }
  }

  /** Takes no more work; resolves when the running handlers have finished. */
  async shutDown(): Promise<void> {
    this.#shuttingDown = true;
    for (const timer of this.#timers.values()) timer.cancel();
    this.#timers.clear();
    await Promise.allSettled([...this.#inFlight]);
  }
}
