import type { MigratorEvents, RunResult } from '../../migrator/index.js';
import { Reason } from '../reasons.js';
import type { Status, StepRecord } from '../resource.js';
import type { PassContext as Context } from './ports.js';

const maxSteps = 10;
/** How long a run goes on before its status says Migrating, and how often progress is written after. */
const progressIntervalMs = 1000;

/** A run's progress as each step finishes: metrics, the steps in status, and what is left. */
export class StepProgress {
  readonly #ctx: Context;
  readonly #steps: StepRecord[];
  #remaining: string[] = [];
  #heads: readonly string[] = [];
  #startedAt = 0;
  #writtenAt = Number.NEGATIVE_INFINITY;
  #startTimer: NodeJS.Timeout | undefined;
  #announceStart: () => Promise<void> = async () => undefined;
  #lastApplied: Pick<Status, 'lastAppliedRevision' | 'lastAppliedTime'> = {};

  constructor(ctx: Context) {
    this.#ctx = ctx;
    this.#steps = [...(ctx.pass.previous.steps ?? [])];
  }

  /**
   * The run starts: its Migrating status and its Started Event go out once it has gone on
   * for a second, then progress at most once a second. A run of a few fast steps reports
   * only its result: each write is work for the API server and every watcher, and an Event
   * is a write to etcd of its own.
   */
  start(
    heads: readonly string[],
    pending: readonly string[],
    report: { readonly status: () => Promise<void>; readonly event: () => Promise<void> },
  ): void {
    this.#heads = heads;
    this.#remaining = [...pending];
    this.#startedAt = performance.now();
    this.#announceStart = report.event;
    this.#startTimer = setTimeout(() => {
      this.#startTimer = undefined;
      this.#writtenAt = performance.now();
      report.status().catch(() => undefined);
      report.event().catch(() => undefined);
    }, progressIntervalMs);
  }

  /** The run ended: no progress write is left pending. */
  stop(): void {
    clearTimeout(this.#startTimer);
    this.#startTimer = undefined;
  }

  stepFinished: NonNullable<MigratorEvents['stepFinished']> = (step, result) => {
    const { pass, deps } = this.#ctx;
    const labels = pass.labels;
    const outcome = result.status === 'applied' ? 'success' : 'failure';
    deps.metrics.applied.inc({ ...labels, direction: step.direction, result: outcome });
    deps.metrics.stepDuration.observe({ direction: step.direction }, result.durationMs / 1000);
    this.#steps.push({
      revision: step.revision,
      direction: step.direction,
      outcome: result.status,
      durationMs: Math.round(result.durationMs),
      finishedAt: deps.now().toISOString(),
    });
    if (result.status !== 'applied') return;
    this.#remaining = this.#remaining.filter((r) => r !== step.revision);
    this.#heads = step.headsAfter;
    this.#lastApplied = { lastAppliedRevision: step.revision, lastAppliedTime: deps.now().toISOString() };
    const now = performance.now();
    if (now - this.#startedAt < progressIntervalMs || now - this.#writtenAt < progressIntervalMs) return;
    // A step that held the event loop past the start's timer: this write carries the start.
    if (this.#startTimer) this.#announceStart().catch(() => undefined);
    this.stop();
    this.#writtenAt = now;
    const message = `${step.direction} ${step.revision} applied; ${this.#remaining.length} step(s) left`;
    // Not awaited: the status writer orders its writes, and a failed progress write must not stop the run.
    pass
      .write(
        { kind: 'progressing', reason: Reason.Migrating, message },
        {
          currentRevision: this.#heads.join(','),
          pendingRevisions: this.#remaining,
          steps: this.#steps.slice(-maxSteps),
          ...this.#lastApplied,
        },
      )
      .catch(() => undefined);
  };

  /** The status fields a finished run leaves. */
  after(result: RunResult): Partial<Status> & {
    readonly currentRevision: string;
    readonly pendingRevisions: string[];
  } {
    const now = this.#ctx.deps.now().toISOString();
    return {
      currentRevision: this.#heads.join(','),
      pendingRevisions: this.#remaining,
      steps: this.#steps.slice(-maxSteps),
      ...this.#lastApplied,
      ...(result.backup ? { lastBackup: { files: [...result.backup], time: now } } : {}),
    };
  }
}
