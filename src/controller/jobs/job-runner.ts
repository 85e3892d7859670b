import {
  type ConnectionOptions,
  type DatabaseObservation,
  errorCodeOfExit,
  type HistoryRow,
} from '../../migrator/index.js';
import type { Outcome } from '../conditions.js';
import { apiServerMessage, httpStatus } from '../http-status.js';
import type { ControllerMetrics } from '../metrics.js';
import { Reason, type ReasonName, reasonFor } from '../reasons.js';
import type { DatabaseMigration, LastRun, Spec, Status, StepRecord } from '../resource.js';
import type { SecretObject } from '../secret-policy.js';
import { excerptLimit, shownText } from '../shown-text.js';
import {
  decideJob,
  isSameRun,
  type JobPort,
  jobPollMs,
  jobWaitMs,
  type PodTermination,
} from './decide-job.js';
import { databaseKey, migrationJob } from './job-spec.js';

/** A termination message fit for status and Events: no Secret value, no URL credentials, its last 4 KB. */
export const redactLogTail = (message: string, secrets: readonly SecretObject[]): string =>
  shownText(message.trim(), secrets, { limit: excerptLimit, multiline: true, keep: 'tail' });

const stepsOf = (rows: readonly HistoryRow[]): StepRecord[] =>
  rows.map((r) => ({
    revision: r.revision,
    direction: r.direction,
    outcome: r.outcome,
    durationMs: Math.round(r.durationMs ?? 0),
    finishedAt: r.finishedAt ?? r.startedAt,
  }));

export interface JobRunContext {
  readonly resource: DatabaseMigration;
  readonly spec: Spec;
  readonly previous: Status;
  readonly connection: ConnectionOptions;
  readonly secrets: readonly SecretObject[];
  readonly jobs: JobPort;
  readonly observe: (since: Date | null) => Promise<DatabaseObservation>;
  readonly traceEnv: Readonly<Record<string, string>>;
  readonly metrics: ControllerMetrics;
  readonly resyncMs: number;
  readonly now: () => Date;
  readonly write: (outcome: Outcome, changes: Partial<Status>) => Promise<void>;
  readonly fail: (reason: ReasonName, message: string, changes: Partial<Status>) => Promise<void>;
  readonly retryLater: (
    reason: ReasonName,
    message: string,
    changes: Partial<Status>,
  ) => Promise<{ requeueAfterMs: number | null; outcome: Outcome['kind'] }>;
  /** An Event; it never rejects (one that cannot be written is not worth failing the pass for). */
  readonly event: (type: 'Normal' | 'Warning', reason: string, message: string) => Promise<void>;
}

const lastLine = (text: string) => text.split('\n').filter(Boolean).at(-1) ?? '';

/**
 * spec.migrations.image: the controller reads the database with its own connection and
 * runs each upgrade as a Job from the application's image, one at a time per database,
 * following it through the Job's status and the history table.
 */
export async function reconcileWithJob(
  ctx: JobRunContext,
): Promise<{ requeueAfterMs: number | null; outcome: Outcome['kind'] }> {
  const { resource, spec, previous, jobs } = ctx;
  const { namespace, name } = resource.metadata;
  const generation = resource.metadata.generation ?? 0;
  const image = spec.migrations.image!;
  const run = previous.lastRun;
  const running = run?.phase === 'Running' ? run : undefined;
  // The history's times are the database server's: a few seconds of margin for clock skew.
  const observed = await ctx.observe(running ? new Date(Date.parse(running.startedAt) - 5000) : null);
  const heads = observed.heads.join(',');
  ctx.metrics.currentRevision(namespace, name, heads);
  const steps = stepsOf(observed.steps).slice(-10);
  const database = databaseKey(spec, ctx.connection.url);
  // A run that settled this generation needs no look at other Jobs: the no-op resync stays
  // one Secret GET and one query.
  const settled =
    run?.phase === 'Succeeded' && isSameRun(run, { generation, image, target: spec.targetRevision });
  const others =
    running || settled
      ? []
      : await jobs.activeJobs(namespace, database).then((names) => names.filter((n) => n !== run?.job));
  const decision = decideJob({
    run,
    job: running ? await jobs.job(namespace, running.job) : null,
    generation,
    image,
    target: spec.targetRevision,
    heads,
    othersOnDatabase: others,
  });
  const finished = (changes: Partial<LastRun>): LastRun => ({
    ...running!,
    ...changes,
    finishedAt: ctx.now().toISOString(),
    heads,
  });
  const readyMessage = `the database is at ${heads || 'base'}`;

  switch (decision.kind) {
    case 'ready':
      await ctx.write({ kind: 'ready', message: readyMessage }, { currentRevision: heads });
      return { requeueAfterMs: ctx.resyncMs, outcome: 'ready' };
    case 'moved':
      return moved(ctx, run!, heads);
    case 'wait': {
      const message = `Job ${decision.job} is migrating the same database; this resource waits for it to finish`;
      await ctx.write(
        { kind: 'progressing', reason: Reason.WaitingForJob, message },
        { currentRevision: heads },
      );
      return { requeueAfterMs: jobWaitMs, outcome: 'progressing' };
    }
    case 'create':
      return create(ctx, decision.attempt, heads, database);
    case 'running': {
      const applied = steps.filter((s) => s.outcome === 'applied').length;
      const message = `Job ${running!.job} is running revisor upgrade ${spec.targetRevision}: ${applied} step(s) applied so far`;
      await ctx.write(
        { kind: 'progressing', reason: Reason.Migrating, message },
        { currentRevision: heads, steps },
      );
      return { requeueAfterMs: jobPollMs, outcome: 'progressing' };
    }
    case 'succeeded':
      return succeeded(ctx, finished({ phase: 'Succeeded' }), heads, steps);
    case 'deadline': {
      const lastRun = finished({ phase: 'Failed' });
      const message = `Job ${lastRun.job} ran past spec.migrations.activeDeadlineSeconds (${spec.migrations.activeDeadlineSeconds}s) and was stopped; the lock was released with it. Raise the deadline, or look at what the step waits for`;
      return ctx.retryLater(Reason.JobDeadlineExceeded, message, { currentRevision: heads, steps, lastRun });
    }
    case 'lost':
      return lost(ctx, heads, steps);
    case 'failed': {
      const termination = await jobs.termination(namespace, running!.job);
      if (!termination) return lost(ctx, heads, steps);
      return failed(ctx, termination, finished({ phase: 'Failed' }), heads, steps);
    }
  }
}

async function moved(ctx: JobRunContext, run: LastRun, heads: string) {
  const message =
    `the database moved to ${heads || 'base'} outside the operator (Job ${run.job} left it at ${run.heads || 'base'}); ` +
    'nothing was changed: set the spec to the revision you want (any spec change) to reconcile it';
  await ctx.fail(Reason.OutOfBandChange, message, { currentRevision: heads });
  await ctx.event('Warning', Reason.OutOfBandChange, message);
  return { requeueAfterMs: ctx.resyncMs, outcome: 'failed' as const };
}

async function succeeded(ctx: JobRunContext, lastRun: LastRun, heads: string, steps: StepRecord[]) {
  const { namespace, name } = ctx.resource.metadata;
  const readyMessage = `the database is at ${heads || 'base'}`;
  await ctx.write(
    { kind: 'ready', message: readyMessage },
    {
      currentRevision: heads,
      targetRevision: heads,
      pendingRevisions: [],
      steps,
      lastRun,
      attempts: 0,
      failedRevision: undefined,
    },
  );
  const applied = steps.filter((s) => s.outcome === 'applied').length;
  await ctx.event(
    'Normal',
    Reason.Applied,
    `Job ${lastRun.job} succeeded: ${applied} step(s) applied; ${readyMessage}`,
  );
  ctx.metrics.lastSuccess.set({ namespace, name }, ctx.now().getTime() / 1000);
  return { requeueAfterMs: ctx.resyncMs, outcome: 'ready' as const };
}

/** The Job failed: its exit code says the error class, the end of its log says why. */
async function failed(
  ctx: JobRunContext,
  termination: PodTermination,
  ended: LastRun,
  heads: string,
  steps: StepRecord[],
) {
  const errorCode = errorCodeOfExit(termination.exitCode);
  const logTail = redactLogTail(termination.message, ctx.secrets);
  const lastRun: LastRun = {
    ...ended,
    exitCode: termination.exitCode,
    ...(errorCode ? { errorCode } : {}),
    logTail,
  };
  const failedStep = steps.findLast((s) => s.outcome === 'failed');
  const message = `Job ${lastRun.job} failed (exit ${termination.exitCode}${errorCode ? `, ${errorCode}` : ''}): ${lastLine(logTail)}`;
  await ctx.event('Warning', Reason.JobFailed, `Job ${lastRun.job} failed; the end of its log:\n${logTail}`);
  return ctx.retryLater(errorCode ? reasonFor(errorCode) : Reason.MigrationFailed, message, {
    currentRevision: heads,
    steps,
    lastRun,
    ...(failedStep ? { failedRevision: failedStep.revision } : {}),
  });
}

async function lost(ctx: JobRunContext, heads: string, steps: StepRecord[]) {
  const run = ctx.previous.lastRun!;
  const lastRun: LastRun = { ...run, phase: 'Lost', finishedAt: ctx.now().toISOString(), heads };
  const message = `Job ${run.job} ended before its container did (deleted or evicted); the database is at ${heads || 'base'} and a new Job will run`;
  return ctx.retryLater(Reason.JobLost, message, { currentRevision: heads, steps, lastRun });
}

async function create(ctx: JobRunContext, attempt: number, heads: string, database: string) {
  const { resource, spec } = ctx;
  const generation = resource.metadata.generation ?? 0;
  const job = migrationJob({
    resource: {
      name: resource.metadata.name,
      namespace: resource.metadata.namespace,
      uid: resource.metadata.uid ?? '',
    },
    spec,
    generation,
    attempt,
    database,
    refuseInsecureAuth: ctx.connection.refuseInsecureAuth === true,
    traceEnv: ctx.traceEnv,
  });
  try {
    await ctx.jobs.createJob(job);
  } catch (err) {
    const status = httpStatus(err);
    if (status === undefined || status >= 500 || status === 429) throw err;
    const reason = apiServerMessage(err);
    const message = `the API server refused the migration Job (${status}${reason ? `: ${reason}` : ''}); check spec.migrations and the operator's RBAC for Jobs`;
    await ctx.fail(Reason.JobRejected, message, { currentRevision: heads });
    await ctx.event('Warning', Reason.JobRejected, message);
    return { requeueAfterMs: null, outcome: 'failed' as const };
  }
  const jobName = job.metadata!.name!;
  const lastRun: LastRun = {
    job: jobName,
    image: spec.migrations.image!,
    target: spec.targetRevision,
    generation,
    attempt,
    phase: 'Running',
    startedAt: ctx.now().toISOString(),
  };
  const message = `Job ${jobName} started: revisor upgrade ${spec.targetRevision} from ${lastRun.image} (attempt ${attempt})`;
  await ctx.write(
    { kind: 'progressing', reason: Reason.Migrating, message },
    { currentRevision: heads, steps: [], lastRun, failedRevision: undefined },
  );
  await ctx.event('Normal', Reason.Started, message);
  return { requeueAfterMs: jobPollMs, outcome: 'progressing' as const };
}
