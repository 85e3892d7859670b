/**
 * List, then watch from the list's resourceVersion, keeping a cache and telling a handler
 * what changed. A watch that ends is resumed from the last resourceVersion seen; one that
 * answers 410 Gone is replaced by a fresh list; one that goes silent past the watchdog is
 * aborted and resumed; errors back off exponentially. Delays and the clock are injectable.
 */
export interface Meta {
  metadata: { name?: string; namespace?: string; resourceVersion?: string };
}

export interface WatchHandle {
  abort(): void;
}

export interface ListWatch<T extends Meta> {
  list(): Promise<{ items: T[]; resourceVersion: string }>;
  watch(
    resourceVersion: string,
    onEvent: (type: string, object: unknown) => void,
    onDone: (err: unknown) => void,
  ): Promise<WatchHandle>;
}

export interface InformerOptions {
  readonly initialBackoffMs: number;
  readonly maxBackoffMs: number;
  /** A watch with no event (bookmarks included) for this long is restarted. */
  readonly watchdogMs: number;
  readonly sleep?: (ms: number) => Promise<void>;
  /** A list or watch failed for the `failures`-th time in a row; the next try is in `retryInMs`. */
  readonly onError?: (err: unknown, failures: number, retryInMs: number) => void;
}

export type ChangeHandler<T> = (key: string, object: T | null, previous: T | null) => void;

const keyOf = (o: Meta) => `${o.metadata.namespace ?? ''}/${o.metadata.name ?? ''}`;

function goneCode(err: unknown): boolean {
  const e = err as { code?: number; statusCode?: number } | null;
  return e?.code === 410 || e?.statusCode === 410;
}

export class Informer<T extends Meta> {
  readonly #source: ListWatch<T>;
  readonly #onChange: ChangeHandler<T>;
  readonly #options: InformerOptions;
  readonly #cache = new Map<string, T>();
  #stopped = false;
  #synced = false;
  #handle: WatchHandle | null = null;
  #endWatch: (() => void) | null = null;
  #loop: Promise<void> | null = null;
  #wake: (() => void) | null = null;
  /** How many times the informer listed: the first sync, then every relist. */
  lists = 0;

  constructor(source: ListWatch<T>, onChange: ChangeHandler<T>, options: InformerOptions) {
    this.#source = source;
    this.#onChange = onChange;
    this.#options = options;
  }

  get synced(): boolean {
    return this.#synced;
  }

  get(key: string): T | undefined {
    return this.#cache.get(key);
  }

  values(): T[] {
    return [...this.#cache.values()];
  }

  start(): void {
    this.#loop ??= this.#run();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#endWatch?.();
    this.#wake?.();
    await this.#loop;
  }

  #sleep(ms: number): Promise<void> {
    if (this.#options.sleep) return this.#options.sleep(ms);
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.#wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  async #run(): Promise<void> {
    let failures = 0;
    while (!this.#stopped) {
      try {
        let resourceVersion = await this.#relist();
        failures = 0;
        for (;;) {
          if (this.#stopped) return;
          const result = await this.#watchOnce(resourceVersion);
          if (result.kind === 'gone') break;
          if (result.kind === 'error') throw result.error;
          resourceVersion = result.resourceVersion;
        }
      } catch (err) {
        if (this.#stopped) return;
        failures++;
        const retryInMs = Math.min(
          this.#options.initialBackoffMs * 2 ** (failures - 1),
          this.#options.maxBackoffMs,
        );
        this.#options.onError?.(err, failures, retryInMs);
        await this.#sleep(retryInMs);
      }
    }
  }

  async #relist(): Promise<string> {
    const { items, resourceVersion } = await this.#source.list();
    this.lists++;
    const seen = new Set<string>();
    for (const item of items) {
      const key = keyOf(item);
      seen.add(key);
      const before = this.#cache.get(key) ?? null;
      this.#cache.set(key, item);
      if (before?.metadata.resourceVersion !== item.metadata.resourceVersion)
        this.#onChange(key, item, before);
    }
    for (const [key, before] of [...this.#cache]) {
      if (seen.has(key)) continue;
      this.#cache.delete(key);
      this.#onChange(key, null, before);
    }
    this.#synced = true;
    return resourceVersion;
  }

  #watchOnce(
    from: string,
  ): Promise<
    { kind: 'resume'; resourceVersion: string } | { kind: 'gone' } | { kind: 'error'; error: unknown }
  > {
    let resourceVersion = from;
    return new Promise((resolve) => {
      let settled = false;
      let watchdog: ReturnType<typeof setTimeout> | undefined;
      const finish = (result: Parameters<typeof resolve>[0]) => {
        if (settled) return;
        settled = true;
        clearTimeout(watchdog);
        this.#handle?.abort();
        this.#handle = null;
        this.#endWatch = null;
        resolve(result);
      };
      this.#endWatch = () => finish({ kind: 'resume', resourceVersion });
      const arm = () => {
        clearTimeout(watchdog);
        watchdog = setTimeout(() => finish({ kind: 'resume', resourceVersion }), this.#options.watchdogMs);
      };
      const onEvent = (type: string, object: unknown) => {
        arm();
        const obj = object as T & { code?: number };
        if (type === 'ERROR') {
          finish(obj.code === 410 ? { kind: 'gone' } : { kind: 'error', error: object });
          return;
        }
        if (obj.metadata?.resourceVersion) resourceVersion = obj.metadata.resourceVersion;
        if (type === 'BOOKMARK') return;
        const key = keyOf(obj);
        const before = this.#cache.get(key) ?? null;
        if (type === 'DELETED') {
          this.#cache.delete(key);
          this.#onChange(key, null, before);
        } else {
          this.#cache.set(key, obj);
          this.#onChange(key, obj, before);
        }
      };
      const onDone = (err: unknown) => {
        if (!err || this.#stopped) finish({ kind: 'resume', resourceVersion });
        else finish(goneCode(err) ? { kind: 'gone' } : { kind: 'error', error: err });
      };
      arm();
      this.#source.watch(resourceVersion, onEvent, onDone).then(
        (handle) => {
          if (settled || this.#stopped) handle.abort();
          else this.#handle = handle;
        },
        (err) => finish(goneCode(err) ? { kind: 'gone' } : { kind: 'error', error: err }),
      );
    });
  }
}
