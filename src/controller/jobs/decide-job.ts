import type { V1Job } from '@kubernetes/client-node';
import type { LastRun } from '../resource.js';

/** A migration Job as the controller reads it. */
export interface JobState {
  readonly phase: 'Active' | 'Succeeded' | 'Failed';
  /** The Job's Failed condition reason (BackoffLimitExceeded, DeadlineExceeded, …). */
  readonly failureReason?: string;
}

/** How the Job's container ended: its exit code and its termination message (the log's tail). */
export interface PodTermination {
  readonly exitCode: number;
  readonly message: string;
}

/** The Kubernetes side of the Job runner. */
export interface JobPort {
  job(namespace: string, name: string): Promise<JobState | null>;
  /** Creates the Job; one of that name already there (made before a restart) counts as created. */
  createJob(job: V1Job): Promise<void>;
  /** Names of the unfinished migration Jobs on a database (its databaseKey label). */
  activeJobs(namespace: string, database: string): Promise<string[]>;
  /** The Job's container's termination, or null when no pod of it ended (evicted, deleted). */
  termination(namespace: string, job: string): Promise<PodTermination | null>;
}

/** How often a running Job's progress is read. */
export const jobPollMs = 2000;
/** How often a resource waiting for another resource's Job on its database looks again. */
export const jobWaitMs = 5000;

export type JobDecision =
  | { readonly kind: 'create'; readonly attempt: number }
  | { readonly kind: 'running' | 'succeeded' | 'failed' | 'lost' | 'deadline' }
  | { readonly kind: 'ready' | 'moved' }
  | { readonly kind: 'wait'; readonly job: string };

/** Whether the last run was for this generation, image and target. */
export function isSameRun(
  run: LastRun | undefined,
  spec: { readonly generation: number; readonly image: string; readonly target: string },
): run is LastRun {
  return (
    run !== undefined &&
    run.generation === spec.generation &&
    run.image === spec.image &&
    run.target === spec.target
  );
}

/**
 * What to do next, from the last run recorded in status, the Job it names, the database's
 * heads and the other Jobs on the database. A run for this generation, image and target
 * that succeeded leaves nothing to do while the database stays where it left it.
 */
export function decideJob(input: {
  readonly run: LastRun | undefined;
  readonly job: JobState | null;
  readonly generation: number;
  readonly image: string;
  readonly target: string;
  readonly heads: string;
  readonly othersOnDatabase: readonly string[];
}): JobDecision {
  const { run, job } = input;
  if (run?.phase === 'Running') {
    if (!job) return { kind: 'lost' };
    if (job.phase === 'Active') return { kind: 'running' };
    if (job.phase === 'Succeeded') return { kind: 'succeeded' };
    return { kind: job.failureReason === 'DeadlineExceeded' ? 'deadline' : 'failed' };
  }
  const same = isSameRun(run, input);
  if (same && run.phase === 'Succeeded') return { kind: run.heads === input.heads ? 'ready' : 'moved' };
  const other = input.othersOnDatabase[0];
  if (other !== undefined) return { kind: 'wait', job: other };
  return { kind: 'create', attempt: same ? run.attempt + 1 : 1 };
}
