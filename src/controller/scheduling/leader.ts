/**
 * Leader election on a coordination.k8s.io Lease, as client-go does it: the holder renews
 * every retry period; another candidate takes over once it has seen the same record
 * unchanged for a whole lease duration (its own clock, so clock skew does not matter); a
 * holder that cannot renew within the renew deadline steps down; release on shutdown
 * empties the holder so the next leader need not wait.
 */
export interface LeaseRecord {
  holderIdentity: string;
  leaseDurationSeconds: number;
  acquireTime: string;
  renewTime: string;
  leaseTransitions: number;
  resourceVersion?: string;
}

export interface LeaseStore {
  get(): Promise<LeaseRecord | null>;
  create(record: LeaseRecord): Promise<LeaseRecord>;
  /** Fails (with a 409) when the record changed since it was read. */
  update(record: LeaseRecord): Promise<LeaseRecord>;
}

export interface ElectionOptions {
  readonly identity: string;
  readonly leaseDurationMs: number;
  readonly renewDeadlineMs: number;
  readonly retryPeriodMs: number;
  readonly now?: () => number;
  readonly sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  readonly onError?: (err: unknown) => void;
}

const defaultSleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve();
    });
  });

export class LeaderElector {
  readonly #store: LeaseStore;
  readonly #options: ElectionOptions;
  #observed: { record: string; at: number } | null = null;
  #record: LeaseRecord | null = null;
  #leading = false;

  constructor(store: LeaseStore, options: ElectionOptions) {
    this.#store = store;
    this.#options = options;
  }

  get leading(): boolean {
    return this.#leading;
  }

  #now(): number {
    return (this.#options.now ?? Date.now)();
  }

  /** One attempt: true when this process holds the lease afterwards. */
  async tryAcquireOrRenew(): Promise<boolean> {
    const { identity } = this.#options;
    const now = new Date(this.#now()).toISOString();
    const duration = Math.ceil(this.#options.leaseDurationMs / 1000);
    const existing = await this.#store.get();
    if (!existing) {
      this.#record = await this.#store.create({
        holderIdentity: identity,
        leaseDurationSeconds: duration,
        acquireTime: now,
        renewTime: now,
        leaseTransitions: 0,
      });
      return true;
    }
    const fingerprint = `${existing.holderIdentity}|${existing.renewTime}|${existing.resourceVersion}`;
    if (this.#observed?.record !== fingerprint) this.#observed = { record: fingerprint, at: this.#now() };
    const mine = existing.holderIdentity === identity;
    const free = existing.holderIdentity === '';
    const expired = this.#observed.at + existing.leaseDurationSeconds * 1000 < this.#now();
    if (!mine && !free && !expired) return false;
    this.#record = await this.#store.update({
      ...existing,
      holderIdentity: identity,
      leaseDurationSeconds: duration,
      renewTime: now,
      ...(mine ? {} : { acquireTime: now, leaseTransitions: existing.leaseTransitions + 1 }),
    });
    return true;
  }

  /**
   * Campaigns until elected, leads until the lease is lost or `signal` aborts. Resolves
   * with why leading ended: 'stopped' (signal) or 'lost' (renew deadline passed).
   */
  async run(signal: AbortSignal, onStartedLeading: () => void): Promise<'stopped' | 'lost'> {
    const sleep = this.#options.sleep ?? defaultSleep;
    while (!signal.aborted && !this.#leading) {
      try {
        this.#leading = await this.tryAcquireOrRenew();
      } catch (err) {
        this.#options.onError?.(err);
      }
      if (!this.#leading) await sleep(this.#options.retryPeriodMs, signal);
    }
    if (signal.aborted) return 'stopped';
    onStartedLeading();
    let lastRenew = this.#now();
    while (!signal.aborted) {
      await sleep(this.#options.retryPeriodMs, signal);
      if (signal.aborted) break;
      try {
        if (await this.tryAcquireOrRenew()) lastRenew = this.#now();
      } catch (err) {
        this.#options.onError?.(err);
      }
      if (this.#now() - lastRenew > this.#options.renewDeadlineMs) {
        this.#leading = false;
        return 'lost';
      }
    }
    return 'stopped';
  }

  /** Gives the lease up so a successor need not wait for it to expire. */
  async release(): Promise<void> {
    if (!this.#leading || !this.#record) return;
    this.#leading = false;
    const now = new Date(this.#now()).toISOString();
    await this.#store.update({
      ...this.#record,
      holderIdentity: '',
      leaseDurationSeconds: 1,
      renewTime: now,
    });
  }
}
