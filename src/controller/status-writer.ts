import { isDeepStrictEqual } from 'node:util';
import { conditionsFor, type Drift, type Outcome } from './conditions.js';
import type { Condition } from './resource.js';

/** What both kinds' statuses have: conditions for the generation they describe. */
export interface ConditionedStatus {
  observedGeneration?: number;
  conditions?: Condition[];
}

/** Equal as the API server would store them: undefined fields dropped, key order ignored. */
export const sameStatus = (a: unknown, b: unknown): boolean =>
  isDeepStrictEqual(JSON.parse(JSON.stringify(a ?? {})), JSON.parse(JSON.stringify(b ?? {})));

export interface StatusWriterOptions<S extends ConditionedStatus> {
  /** The status the resource has now. */
  readonly initial: S | undefined;
  readonly generation: number;
  readonly now: () => Date;
  /** merge: each write changes the fields it names (a DatabaseMigration's progress); replace: each write is the whole status. */
  readonly mode: 'merge' | 'replace';
  /** What may reach the API server: messages and fields redacted and bounded. */
  readonly shown: (status: S) => S;
  /** Writes through the status subresource (retrying on conflict); resolves once it landed. */
  readonly persist: (status: S) => Promise<void>;
}

/**
 * The one status writer of both kinds: conditions follow from the outcome, and a status
 * equal to what is stored is not written. Writes go out one at a time, in order, so a
 * progress write still in flight never lands after the final one.
 */
export class StatusWriter<S extends ConditionedStatus> {
  readonly #options: StatusWriterOptions<S>;
  #status: S;
  #stored: S;
  #queue: Promise<unknown> = Promise.resolve();

  constructor(options: StatusWriterOptions<S>) {
    this.#options = options;
    this.#status = { ...(options.initial ?? ({} as S)) };
    this.#stored = options.initial ?? ({} as S);
  }

  /** The status as last written (or to be written). */
  get status(): S {
    return this.#status;
  }

  /** Resolves to whether the status changed and was written (false too when a later write superseded it). */
  write(outcome: Outcome, fields: Partial<S>, drift: Drift | null = null): Promise<boolean> {
    const { generation, now, mode, shown } = this.#options;
    const base = mode === 'merge' ? this.#status : ({} as S);
    const next = shown({
      ...base,
      ...fields,
      observedGeneration: generation,
      conditions: conditionsFor(this.#status.conditions, outcome, drift, generation, now()),
    });
    this.#status = next;
    const written = this.#queue.then(async () => {
      // A later write, queued behind this one, carries this one's fields too: only it goes out
      // (a run's per-step progress writes coalesce while one is in flight).
      if (this.#status !== next || sameStatus(next, this.#stored)) return false;
      await this.#options.persist(next);
      this.#stored = next;
      return true;
    });
    this.#queue = written.catch(() => undefined);
    return written;
  }
}
