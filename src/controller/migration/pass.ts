import { classify } from '../../migrator/index.js';
import type { Drift, Outcome } from '../conditions.js';
import { isApiServerError } from '../http-status.js';
import { type ReasonName, reasonFor } from '../reasons.js';
import type { DatabaseMigration, Spec, Status } from '../resource.js';
import type { SecretObject } from '../secret-policy.js';
import { shownFields, shownText } from '../shown-text.js';
import { StatusWriter } from '../status-writer.js';
import { decideRetry, type Refusal } from './decide-plan.js';
import { SourceError } from './sources.js';

export interface ReconcileResult {
  /** null: wait for a change to the resource or what it references. */
  readonly requeueAfterMs: number | null;
  readonly outcome: Outcome['kind'];
}

/** What a pass needs of the cluster to report: one status write, Events. */
export interface ReportingPort {
  writeStatus(resource: DatabaseMigration, status: Status): Promise<DatabaseMigration>;
  event(
    resource: DatabaseMigration,
    type: 'Normal' | 'Warning',
    reason: string,
    message: string,
  ): Promise<void>;
}

/**
 * One reconcile pass's reporting: the status it writes (one writer, written only when it
 * changes), its Events, and how a failure turns into a retry. Every message goes out with
 * the values of the Secrets this pass read redacted.
 */
export class Pass {
  readonly resource: DatabaseMigration;
  readonly previous: Status;
  readonly generation: number;
  readonly newGeneration: boolean;
  /** The resource's metric labels, and its `namespace/name` key. */
  readonly labels: { readonly namespace: string; readonly name: string };
  readonly key: string;
  /** The Secrets this pass read (set once the connection is resolved). */
  secrets: readonly SecretObject[] = [];
  readonly #cluster: ReportingPort;
  readonly #writer: StatusWriter<Status>;
  #current: DatabaseMigration;

  constructor(resource: DatabaseMigration, cluster: ReportingPort, now: () => Date) {
    this.resource = resource;
    this.previous = resource.status ?? {};
    this.generation = resource.metadata.generation ?? 0;
    this.newGeneration = this.previous.observedGeneration !== this.generation;
    const { namespace, name } = resource.metadata;
    this.labels = { namespace, name };
    this.key = `${namespace}/${name}`;
    this.#cluster = cluster;
    this.#current = resource;
    this.#writer = new StatusWriter<Status>({
      initial: this.previous,
      generation: this.generation,
      now,
      mode: 'merge',
      shown: (status) => shownFields(status, this.secrets),
      persist: async (status) => {
        this.#current = await cluster.writeStatus(this.#current, status);
      },
    });
  }

  /** Failed attempts at this generation so far. */
  get attempts(): number {
    return this.newGeneration ? 0 : (this.previous.attempts ?? 0);
  }

  write = async (outcome: Outcome, changes: Partial<Status>, drift: Drift | null = null): Promise<void> => {
    await this.#writer.write(outcome, changes, drift);
  };

  /** An Event; one that cannot be written is not worth failing the pass for. */
  announce = async (type: 'Normal' | 'Warning', reason: string, message: string): Promise<void> => {
    const shown = shownText(message, this.secrets, { multiline: true });
    await this.#cluster.event(this.#current, type, reason, shown).catch(() => undefined);
  };

  fail = (
    reason: ReasonName,
    message: string,
    changes: Partial<Status> = {},
    drift: Drift | null = null,
    retrying = false,
  ): Promise<void> => this.write({ kind: 'failed', reason, message, retrying }, changes, drift);

  /** A failure counted against spec.retry: Degraded, an Event, and when (or whether) to try again. */
  retryLater = async (
    retry: Spec['retry'],
    reason: ReasonName,
    message: string,
    changes: Partial<Status> = {},
  ): Promise<ReconcileResult> => {
    const next = decideRetry(retry, this.attempts, reason, message);
    await this.fail(next.reason, next.message, { ...changes, attempts: next.attempts }, null, next.transient);
    await this.announce('Warning', reason, message);
    return { requeueAfterMs: next.requeueAfterMs, outcome: 'failed' };
  };

  /**
   * Any failure that is not the API server's: classified into its reason and retried. The
   * API server's go back to the work queue, which retries them with backoff.
   */
  failure = async (
    retry: Spec['retry'],
    err: unknown,
    changes: Partial<Status> = {},
  ): Promise<ReconcileResult> => {
    if (err instanceof SourceError) return this.retryLater(retry, err.reason, err.message, changes);
    if (isApiServerError(err)) throw err;
    const error = classify(err);
    return this.retryLater(retry, reasonFor(error.code), error.message, changes);
  };

  refuse = async (
    decision: Refusal,
    changes: Partial<Status>,
    resyncMs: number,
  ): Promise<ReconcileResult> => {
    await this.fail(decision.reason, decision.message, changes, decision.drift);
    if (decision.event) await this.announce('Warning', decision.reason, decision.message);
    return { requeueAfterMs: decision.requeue === 'resync' ? resyncMs : null, outcome: 'failed' };
  };
}
