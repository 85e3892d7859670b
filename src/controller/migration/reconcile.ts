import {
  type ConnectionOptions,
  classify,
  type DatabaseObservation,
  type Inspection,
  type Migrator,
  type MigratorEvents,
  type Plan,
  type RevisionGraph,
} from '../../migrator/index.js';
import type { Drift, Outcome } from '../conditions.js';
import { isApiServerError } from '../http-status.js';
import { type JobPort, reconcileWithJob } from '../jobs/job-runner.js';
import type { Lru } from '../lru.js';
import type { ControllerMetrics } from '../metrics.js';
import { Reason, type ReasonName, reasonFor } from '../reasons.js';
import type { DatabaseMigration, Spec, Status, StepRecord } from '../resource.js';
import { specSchema } from '../resource.js';
import type { SecretObject } from '../secret-policy.js';
import { owningSet } from '../set-resource.js';
import { shownFields, shownText } from '../shown-text.js';
import { StatusWriter } from '../status-writer.js';
import { approvedPlanAnnotation } from './approval.js';
import { decideAfterRun, decideOnInspection, decidePlan, decideRetry, type Refusal } from './decide-plan.js';
import { progressEvents } from './progress-events.js';
import { gateOnRollout, rolloutPollMs, type WorkloadState } from './rollout.js';
import { type DriftCheck, observeSchemaDrift, schemaDriftCondition } from './schema-drift.js';
import { type ChainCache, chainFor, connectionFor, type ObjectReader, SourceError } from './sources.js';

/** The cluster as the reconciler needs it: reads, one status write, Events, migration Jobs. */
export interface ClusterPort extends ObjectReader, JobPort {
  /** A Deployment's or StatefulSet's rollout state; null when it does not exist. */
  workload(
    namespace: string,
    kind: 'Deployment' | 'StatefulSet',
    name: string,
  ): Promise<WorkloadState | null>;
  /** Writes status through the status subresource, refetching and retrying on conflict. */
  writeStatus(resource: DatabaseMigration, status: Status): Promise<DatabaseMigration>;
  event(
    resource: DatabaseMigration,
    type: 'Normal' | 'Warning',
    reason: string,
    message: string,
  ): Promise<void>;
}

export interface ReconcileDeps {
  readonly cluster: ClusterPort;
  readonly embeddedGraph: () => Promise<RevisionGraph>;
  readonly chains: ChainCache;
  /** Each resource's last schema drift reading and when it was taken (drift.intervalSeconds). */
  readonly driftReadings: Lru<DriftCheck>;
  readonly openMigrator: (
    connection: ConnectionOptions,
    graph: RevisionGraph,
    spec: Spec,
    events: MigratorEvents,
    resource: { readonly namespace: string; readonly name: string },
  ) => Migrator;
  /** The database's heads and recent history, read with a short session (the Job runner's view). */
  readonly observeDatabase: (
    connection: ConnectionOptions,
    spec: Spec,
    since: Date | null,
  ) => Promise<DatabaseObservation>;
  /** Environment for a migration Job's trace: TRACEPARENT under this reconcile's span, OTEL_*. */
  readonly traceEnv: () => Readonly<Record<string, string>>;
  readonly metrics: ControllerMetrics;
  readonly connectTimeoutMs: number;
  /** How often a Ready resource is looked at again for drift. */
  readonly resyncMs: number;
  readonly now: () => Date;
}

export interface ReconcileResult {
  /** null: wait for a change to the resource or what it references. */
  readonly requeueAfterMs: number | null;
  readonly outcome: Outcome['kind'];
}

const maxSteps = 10;

/**
 * One pass over one resource: read the spec, resolve the connection from Secrets, plan
 * with the migrator, then nothing to do (Ready), or take the lock and apply step by step,
 * writing progress to status after each step, and end Ready or Degraded. Status is
 * written only when it changes.
 */
export async function reconcile(resource: DatabaseMigration, deps: ReconcileDeps): Promise<ReconcileResult> {
  const { cluster, metrics } = deps;
  const { namespace, name } = resource.metadata;
  const resourceKey = `${namespace}/${name}`;
  const generation = resource.metadata.generation ?? 0;
  const previous: Status = resource.status ?? {};
  let current = resource;
  // The Secrets this pass read: their values are redacted from every message written.
  let secrets: SecretObject[] = [];
  const writer = new StatusWriter<Status>({
    initial: previous,
    generation,
    now: deps.now,
    mode: 'merge',
    shown: (status) => shownFields(status, secrets),
    persist: async (status) => {
      current = await cluster.writeStatus(current, status);
    },
  });
  const write = async (
    outcome: Outcome,
    changes: Partial<Status>,
    drift: Drift | null = null,
  ): Promise<void> => {
    await writer.write(outcome, changes, drift);
  };
  const event = (type: 'Normal' | 'Warning', reason: string, message: string) =>
    cluster.event(current, type, reason, shownText(message, secrets, { multiline: true }));
  const fail = (
    reason: ReasonName,
    message: string,
    changes: Partial<Status> = {},
    drift: Drift | null = null,
    retrying = false,
  ) => write({ kind: 'failed', reason, message, retrying }, changes, drift);

  const parsed = specSchema.safeParse(resource.spec);
  if (!parsed.success) {
    await fail(
      Reason.InvalidSpec,
      `invalid spec: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
    );
    return { requeueAfterMs: null, outcome: 'failed' };
  }
  const spec = parsed.data;
  if (spec.suspend) {
    await write({ kind: 'suspended', message: 'spec.suspend is true: nothing is checked or applied' }, {});
    return { requeueAfterMs: null, outcome: 'suspended' };
  }

  const newGeneration = previous.observedGeneration !== generation;
  const attempts = newGeneration ? 0 : (previous.attempts ?? 0);
  const retryLater = async (reason: ReasonName, message: string, changes: Partial<Status> = {}) => {
    const retry = decideRetry(spec.retry, attempts, reason, message);
    await fail(retry.reason, retry.message, { ...changes, attempts: retry.attempts }, null, retry.transient);
    await event('Warning', reason, message).catch(() => undefined);
    return { requeueAfterMs: retry.requeueAfterMs, outcome: 'failed' as const };
  };

  const referenceFailure = (err: unknown) => {
    if (err instanceof SourceError) return retryLater(err.reason, err.message);
    if (isApiServerError(err)) throw err;
    const error = classify(err);
    return retryLater(reasonFor(error.code), error.message);
  };
  let connection: ConnectionOptions;
  try {
    ({ connection, secrets } = await connectionFor(
      spec,
      namespace,
      { name, set: owningSet(resource.metadata) },
      cluster,
      {
        applicationName: `revisor controller ${namespace}/${name}`.slice(0, 63),
        connectTimeoutMs: deps.connectTimeoutMs,
      },
    ));
  } catch (err) {
    return referenceFailure(err);
  }
  if (spec.migrations.image) {
    try {
      return await reconcileWithJob({
        resource,
        spec,
        previous,
        connection,
        secrets,
        jobs: cluster,
        observe: (since) => deps.observeDatabase(connection, spec, since),
        traceEnv: deps.traceEnv(),
        metrics,
        resyncMs: deps.resyncMs,
        now: deps.now,
        write,
        fail: (reason, message, changes) => fail(reason, message, changes),
        retryLater,
        event,
      });
    } catch (err) {
      return referenceFailure(err);
    }
  }
  let graph: RevisionGraph;
  try {
    graph = (await chainFor(spec, namespace, cluster, deps.chains)) ?? (await deps.embeddedGraph());
  } catch (err) {
    return referenceFailure(err);
  }

  const progress: StepRecord[] = [...(previous.steps ?? [])];
  let onStep: MigratorEvents['stepFinished'];
  const events = progressEvents(
    { write, event, metrics, labels: { namespace, name }, now: deps.now },
    (step, result) => onStep?.(step, result),
  );
  let migrator: Migrator | undefined;
  try {
    migrator = deps.openMigrator(connection, graph, spec, events, { namespace, name });
    let inspection: Inspection;
    try {
      inspection = await migrator.inspect(spec.targetRevision);
    } catch (err) {
      const error = classify(err);
      return await retryLater(reasonFor(error.code), error.message);
    }
    if (inspection.kind === 'unknown-heads')
      return await retryLater(reasonFor(inspection.error.code), inspection.error.message);
    const heads = inspection.heads;
    const currentRevision = heads.join(',');
    if (inspection.kind === 'bad-target')
      return await retryLater(reasonFor(inspection.error.code), inspection.error.message, {
        currentRevision,
      });
    const targetRevision = inspection.target.join(',');
    const base = { currentRevision, targetRevision };

    const refusal = (decision: Refusal) => async (): Promise<ReconcileResult> => {
      await fail(decision.reason, decision.message, base, decision.drift);
      if (decision.event) await event('Warning', decision.reason, decision.message).catch(() => undefined);
      return { requeueAfterMs: decision.requeue === 'resync' ? deps.resyncMs : null, outcome: 'failed' };
    };
    const early = decideOnInspection({
      previous,
      newGeneration,
      currentRevision,
      checksumError: inspection.checksumError?.message ?? null,
    });
    metrics.drift.set({ namespace, name }, early ? 1 : 0);
    if (early) return await refusal(early)();

    const planned: Plan = inspection.plan;
    const found = await observeSchemaDrift({
      migrator,
      readings: deps.driftReadings,
      key: resourceKey,
      nowMs: deps.now().getTime(),
      intervalMs: spec.drift.intervalSeconds * 1000,
      force: newGeneration || planned.steps.length > 0,
      onUnreadable: (message) => {
        event(
          'Warning',
          Reason.SchemaDrift,
          `could not compare the schema with the recorded one: ${message}`,
        ).catch(() => undefined);
      },
    });
    const schemaDrift = schemaDriftCondition(found);
    metrics.schemaDrift.set({ namespace, name }, found?.differences.length ?? 0);
    const driftedBefore = previous.conditions?.some(
      (c) => c.type === 'Drifted' && c.reason === Reason.SchemaDrift,
    );
    if (schemaDrift && !driftedBefore)
      await event('Warning', Reason.SchemaDrift, schemaDrift.message).catch(() => undefined);

    const gated = await gateOnRollout(spec.postDeploy?.after, planned, (kind, workload) =>
      cluster.workload(namespace, kind, workload),
    );
    const pendingRevisions = planned.steps.map((s) => s.revision);
    metrics.pending.set({ namespace, name }, pendingRevisions.length);
    metrics.currentRevision(namespace, name, currentRevision);
    // A plan a person reviews (a dry run, or one that may wait for approval) carries what
    // lint says of it, judged by this database's tables.
    const reviewed = (spec.dryRun || spec.approval !== 'Never') && planned.steps.length > 0;
    const findings = reviewed ? await migrator.lintSteps(planned.steps) : [];

    const decision = decidePlan({
      spec,
      previous,
      currentRevision,
      targetRevision,
      planned,
      gated,
      schemaDrift,
      findings,
      approvedHash: resource.metadata.annotations?.[approvedPlanAnnotation],
    });
    switch (decision.kind) {
      case 'refuse':
        return await refusal(decision)();
      case 'dry-run':
        await write(
          { kind: 'dry-run', message: decision.message },
          { ...base, pendingRevisions, plan: decision.plan },
        );
        return { requeueAfterMs: null, outcome: 'dry-run' };
      case 'await-approval': {
        const { approval } = decision;
        await write(
          { kind: 'awaiting-approval', message: approval.message },
          { ...base, pendingRevisions, plan: approval.plan, planHash: approval.hash },
          schemaDrift,
        );
        if (decision.announce)
          await event('Normal', Reason.ApprovalRequired, approval.message).catch(() => undefined);
        // The approving annotation is a change to the resource: its watch brings it back.
        return { requeueAfterMs: null, outcome: 'awaiting-approval' };
      }
      case 'wait-rollout':
        await write(
          { kind: 'progressing', reason: Reason.WaitingForRollout, message: decision.message },
          { ...base, pendingRevisions, plan: [], attempts: 0 },
          schemaDrift,
        );
        return { requeueAfterMs: rolloutPollMs, outcome: 'progressing' };
      case 'ready':
        await write(
          { kind: 'ready', message: decision.message },
          { ...base, pendingRevisions: [], plan: [], attempts: 0 },
          schemaDrift,
        );
        metrics.lastSuccess.set({ namespace, name }, deps.now().getTime() / 1000);
        return { requeueAfterMs: deps.resyncMs, outcome: 'ready' };
      case 'run':
        break;
    }

    await write(
      { kind: 'progressing', reason: Reason.Migrating, message: decision.startMessage },
      { ...base, pendingRevisions, plan: [] },
    );
    await event('Normal', 'Started', decision.startMessage).catch(() => undefined);

    let remaining = [...pendingRevisions];
    let lastHeads = heads;
    onStep = (step, result) => {
      const durationMs = Math.round(result.durationMs);
      metrics.applied.inc({
        namespace,
        name,
        direction: step.direction,
        result: result.status === 'applied' ? 'success' : 'failure',
      });
      metrics.stepDuration.observe({ direction: step.direction }, result.durationMs / 1000);
      progress.push({
        revision: step.revision,
        direction: step.direction,
        outcome: result.status,
        durationMs,
        finishedAt: deps.now().toISOString(),
      });
      if (result.status !== 'applied') return;
      remaining = remaining.filter((r) => r !== step.revision);
      lastHeads = step.headsAfter;
      const message = `${step.direction} ${step.revision} applied; ${remaining.length} step(s) left`;
      void write(
        { kind: 'progressing', reason: Reason.Migrating, message },
        {
          currentRevision: lastHeads.join(','),
          pendingRevisions: remaining,
          steps: progress.slice(-maxSteps),
          lastAppliedRevision: step.revision,
          lastAppliedTime: deps.now().toISOString(),
        },
      ).catch(() => undefined);
    };
    // The plan shown in status is the plan applied: the migrator refuses it (PlanOutdated,
    // retried) if the database moved in between, rather than planning again on its own.
    const result = await migrator.apply(decision.plan);
    if (result.schemaDrift) {
      deps.driftReadings.set(resourceKey, { reading: result.schemaDrift, readAt: deps.now().getTime() });
    }
    const after = {
      currentRevision: lastHeads.join(','),
      pendingRevisions: remaining,
      steps: progress.slice(-maxSteps),
      ...(result.backup ? { lastBackup: { files: [...result.backup], time: deps.now().toISOString() } } : {}),
    };
    metrics.currentRevision(namespace, name, after.currentRevision);
    metrics.pending.set({ namespace, name }, remaining.length);
    const end = decideAfterRun({
      error: result.error ?? null,
      waiting: gated.waiting,
      currentRevision: after.currentRevision,
      stepsPlanned: pendingRevisions.length,
    });
    if (end.kind === 'retry') {
      const failed = result.results.find((r) => r.status === 'failed')?.revision;
      return await retryLater(end.reason, end.message, {
        ...after,
        ...(failed ? { failedRevision: failed } : {}),
      });
    }
    if (end.kind === 'wait-rollout') {
      await write(
        { kind: 'progressing', reason: Reason.WaitingForRollout, message: end.message },
        { ...after, attempts: 0, failedRevision: undefined },
      );
      return { requeueAfterMs: rolloutPollMs, outcome: 'progressing' };
    }
    await write(
      { kind: 'ready', message: end.message },
      { ...after, attempts: 0, failedRevision: undefined },
    );
    await event('Normal', Reason.Applied, end.event).catch(() => undefined);
    metrics.lastSuccess.set({ namespace, name }, deps.now().getTime() / 1000);
    return { requeueAfterMs: deps.resyncMs, outcome: 'ready' };
  } catch (err) {
    // The API server's failures go back to the work queue, which retries them with
    // backoff; anything else is classified, and a bug ends Degraded (InternalError)
    // without a retry loop.
    if (isApiServerError(err)) throw err;
    const error = classify(err);
    return await retryLater(reasonFor(error.code), error.message);
  } finally {
    await migrator?.close();
  }
}
