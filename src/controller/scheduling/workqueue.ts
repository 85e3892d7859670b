/**
 * A work queue keyed by object: a key waits at most once, a key is handled by one worker
 * at a time (re-added while running, it runs again after), at most `concurrency`
 * handlers run, and a handler that throws is retried with exponential backoff per key.
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

export type Handler<K extends string = string> = (key: K) => Promise<{ requeueAfterMs: number | null }>;

const defaultTimer = (fn: () => void, ms: number) => {
  const t = setTimeout(fn, ms);
  t.unref?.();
  return { cancel: () => clearTimeout(t) };
};

export class WorkQueue<K extends string = string> {
  readonly #handler: Handler<K>;
  readonly #options: QueueOptions;
  readonly #waiting: K[] = [];
  readonly #queued = new Set<K>();
  readonly #running = new Set<K>();
  readonly #dirty = new Set<K>();
  readonly #timers = new Map<K, { cancel(): void }>();
  readonly #failures = new Map<K, number>();
  readonly #inFlight = new Set<Promise<void>>();
  #shuttingDown = false;

  constructor(handler: Handler<K>, options: QueueOptions) {
    this.#handler = handler;
    this.#options = options;
  }

  get length(): number {
    return this.#waiting.length;
  }

  add(key: K): void {
    if (this.#shuttingDown) return;
    if (this.#running.has(key)) {
      this.#dirty.add(key);
      return;
    }
    if (this.#queued.has(key)) return;
    this.#queued.add(key);
    this.#waiting.push(key);
    this.#pump();
  }

  /** Adds the key after `ms`; a later call for the same key replaces the earlier timer. */
  addAfter(key: K, ms: number): void {
    if (this.#shuttingDown) return;
    this.#timers.get(key)?.cancel();
    const timer = (this.#options.setTimer ?? defaultTimer)(() => {
      this.#timers.delete(key);
      this.add(key);
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
    while (
      !this.#shuttingDown &&
      this.#running.size < this.#options.concurrency &&
      this.#waiting.length > 0
    ) {
      const key = this.#waiting.shift()!;
      this.#queued.delete(key);
      this.#running.add(key);
      const run = this.#run(key).finally(() => {
        this.#inFlight.delete(run);
        this.#running.delete(key);
        if (this.#dirty.delete(key)) this.add(key);
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
        this.addAfter(key, Math.round(requeueAfterMs * (1 + stretch)));
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
