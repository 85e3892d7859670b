import type {
  ConnectionOptions,
  Finding,
  Inspection,
  Migrator,
  Plan,
  RunResult,
} from '../../migrator/index.js';
import type { Drift } from '../conditions.js';
import { Reason } from '../reasons.js';
import type { Spec } from '../resource.js';
import { approvedPlanAnnotation } from './approval.js';
import { decideAfterRun, decideOnInspection, decidePlan, type PlanDecision } from './decide-plan.js';
import type { Pass, ReconcileResult } from './pass.js';
import type { PassContext, ReconcileDeps } from './ports.js';
import { progressEvents } from './progress-events.js';
import { gateOnRollout, rolloutPollMs } from './rollout.js';
import { observeSchemaDrift, schemaDriftCondition } from './schema-drift.js';
import { chainFor } from './sources.js';
import { StepProgress } from './step-progress.js';

/** Everything the decision needs, read from the database and the cluster. */
interface Observed {
  readonly base: { readonly currentRevision: string; readonly targetRevision: string };
  readonly heads: readonly string[];
  readonly planned: Plan;
  readonly gated: { readonly plan: Plan; readonly waiting: string | null };
  readonly schemaDrift: Drift | null;
  readonly findings: readonly Finding[];
}

type Context = PassContext;

/**
 * The migrations run in the controller: observe (inspect the database through the
 * migrator, the schema's drift, the rollout gate, lint of a plan a person reviews), decide
 * (decide-plan.ts, pure), act (write status and Events; run the plan).
 */
export async function reconcileInProcess(
  pass: Pass,
  deps: ReconcileDeps,
  spec: Spec,
  connection: ConnectionOptions,
): Promise<ReconcileResult> {
  const ctx: Context = { pass, deps, spec };
  const { namespace } = pass.labels;
  let migrator: Migrator | undefined;
  const progress = new StepProgress(ctx);
  try {
    const graph =
      (await chainFor(spec, namespace, deps.cluster, deps.chains, deps.configMapVersion)) ??
      (await deps.embeddedGraph());
    const events = progressEvents(
      { write: pass.write, event: pass.announce, metrics: deps.metrics, labels: pass.labels, now: deps.now },
      progress.stepFinished,
    );
    migrator = deps.openMigrator(connection, graph, spec, events, pass.labels);
    const observed = await observe(ctx, migrator);
    if ('requeueAfterMs' in observed) return observed;
    const decision = decidePlan({
      spec,
      previous: pass.previous,
      ...observed.base,
      planned: observed.planned,
      gated: observed.gated,
      schemaDrift: observed.schemaDrift,
      findings: observed.findings,
      approvedHash: pass.resource.metadata.annotations?.[approvedPlanAnnotation],
    });
    if (decision.kind !== 'run') return await act(ctx, observed, decision);
    return await run(ctx, migrator, observed, decision, progress);
  } catch (err) {
    return await pass.failure(spec.retry, err);
  } finally {
    await migrator?.close();
  }
}

async function observe(ctx: Context, migrator: Migrator): Promise<Observed | ReconcileResult> {
  const { pass, deps, spec } = ctx;
  const labels = pass.labels;
  let inspection: Inspection;
  try {
    inspection = await migrator.inspect(spec.targetRevision);
  } catch (err) {
    return pass.failure(spec.retry, err);
  }
  if (inspection.kind === 'unknown-heads') return pass.failure(spec.retry, inspection.error);
  const currentRevision = inspection.heads.join(',');
  if (inspection.kind === 'bad-target')
    return pass.failure(spec.retry, inspection.error, { currentRevision });
  const base = { currentRevision, targetRevision: inspection.target.join(',') };
  const early = decideOnInspection({
    previous: pass.previous,
    newGeneration: pass.newGeneration,
    currentRevision,
    checksumError: inspection.checksumError?.message ?? null,
  });
  deps.metrics.drift.set(labels, early ? 1 : 0);
  if (early) return pass.refuse(early, base, deps.resyncMs);

  const planned = inspection.plan;
  const schemaDrift = await observeDrift(ctx, migrator, planned.steps.length > 0);
  const gated = await gateOnRollout(spec.postDeploy?.after, planned, (kind, workload) =>
    deps.cluster.workload(labels.namespace, kind, workload),
  );
  deps.metrics.pending.set(labels, planned.steps.length);
  deps.metrics.currentRevision(labels.namespace, labels.name, currentRevision);
  // A plan a person reviews (a dry run, or one that may wait for approval) carries what
  // lint says of it, judged by this database's tables.
  const reviewed = (spec.dryRun || spec.approval !== 'Never') && planned.steps.length > 0;
  const findings = reviewed ? await migrator.lintSteps(planned.steps) : [];
  return { base, heads: inspection.heads, planned, gated, schemaDrift, findings };
}

/** The schema compared with the one recorded (every drift.intervalSeconds, and before any run). */
async function observeDrift(ctx: Context, migrator: Migrator, hasSteps: boolean): Promise<Drift | null> {
  const { pass, deps, spec } = ctx;
  const found = await observeSchemaDrift({
    migrator,
    readings: deps.driftReadings,
    key: pass.key,
    nowMs: deps.now().getTime(),
    intervalMs: spec.drift.intervalSeconds * 1000,
    force: pass.newGeneration || hasSteps,
    onUnreadable: (message) =>
      void pass.announce(
        'Warning',
        Reason.SchemaDrift,
        `could not compare the schema with the recorded one: ${message}`,
      ),
  });
  const schemaDrift = schemaDriftCondition(found);
  deps.metrics.schemaDrift.set(pass.labels, found?.differences.length ?? 0);
  const driftedBefore = pass.previous.conditions?.some(
    (c) => c.type === 'Drifted' && c.reason === Reason.SchemaDrift,
  );
  if (schemaDrift && !driftedBefore) await pass.announce('Warning', Reason.SchemaDrift, schemaDrift.message);
  return schemaDrift;
}

/** Every decision but a run: what to write, and when to look again. */
async function act(
  ctx: Context,
  observed: Observed,
  decision: Exclude<PlanDecision, { kind: 'run' }>,
): Promise<ReconcileResult> {
  const { pass, deps } = ctx;
  const { base, schemaDrift } = observed;
  const pendingRevisions = observed.planned.steps.map((s) => s.revision);
  switch (decision.kind) {
    case 'refuse':
      return pass.refuse(decision, base, deps.resyncMs);
    case 'dry-run':
      await pass.write(
        { kind: 'dry-run', message: decision.message },
        { ...base, pendingRevisions, plan: decision.plan },
      );
      return { requeueAfterMs: null, outcome: 'dry-run' };
    case 'await-approval': {
      const { approval } = decision;
      await pass.write(
        { kind: 'awaiting-approval', message: approval.message },
        { ...base, pendingRevisions, plan: approval.plan, planHash: approval.hash },
        schemaDrift,
      );
      if (decision.announce) await pass.announce('Normal', Reason.ApprovalRequired, approval.message);
      // The approving annotation is a change to the resource: its watch brings it back.
      return { requeueAfterMs: null, outcome: 'awaiting-approval' };
    }
    case 'wait-rollout':
      await pass.write(
        { kind: 'progressing', reason: Reason.WaitingForRollout, message: decision.message },
        { ...base, pendingRevisions, plan: [], attempts: 0 },
        schemaDrift,
      );
      return { requeueAfterMs: rolloutPollMs, outcome: 'progressing' };
    case 'ready':
      await pass.write(
        { kind: 'ready', message: decision.message },
        { ...base, pendingRevisions: [], plan: [], attempts: 0 },
        schemaDrift,
      );
      deps.metrics.lastSuccess.set(pass.labels, deps.now().getTime() / 1000);
      return { requeueAfterMs: deps.resyncMs, outcome: 'ready' };
  }
}

/**
 * The plan applied under the lock, progress in status after each step. The plan shown in
 * status is the plan applied: the migrator refuses it (PlanOutdated, retried) if the
 * database moved in between, rather than planning again on its own.
 */
async function run(
  ctx: Context,
  migrator: Migrator,
  observed: Observed,
  decision: Extract<PlanDecision, { kind: 'run' }>,
  progress: StepProgress,
): Promise<ReconcileResult> {
  const { pass, deps, spec } = ctx;
  const pendingRevisions = observed.planned.steps.map((s) => s.revision);
  progress.start(observed.heads, pendingRevisions, {
    status: () =>
      pass.write(
        { kind: 'progressing', reason: Reason.Migrating, message: decision.startMessage },
        { ...observed.base, pendingRevisions, plan: [] },
      ),
    event: () => pass.announce('Normal', Reason.Started, decision.startMessage),
  });
  let result: RunResult;
  try {
    result = await migrator.apply(decision.plan);
  } finally {
    progress.stop();
  }
  if (result.schemaDrift) {
    deps.driftReadings.set(pass.key, { reading: result.schemaDrift, readAt: deps.now().getTime() });
  }
  // The fields a pass that finds nothing to do writes, so the next one writes nothing.
  const after = { targetRevision: observed.base.targetRevision, plan: [], ...progress.after(result) };
  deps.metrics.currentRevision(pass.labels.namespace, pass.labels.name, after.currentRevision);
  deps.metrics.pending.set(pass.labels, after.pendingRevisions.length);
  const end = decideAfterRun({
    error: result.error ?? null,
    waiting: observed.gated.waiting,
    currentRevision: after.currentRevision,
    run: decision.startMessage,
  });
  if (end.kind === 'retry') {
    const failed = result.results.find((r) => r.status === 'failed')?.revision;
    return pass.retryLater(spec.retry, end.reason, end.message, {
      ...after,
      ...(failed ? { failedRevision: failed } : {}),
    });
  }
  const settled = { ...after, attempts: 0, failedRevision: undefined };
  if (end.kind === 'wait-rollout') {
    await pass.write(
      { kind: 'progressing', reason: Reason.WaitingForRollout, message: end.message },
      settled,
    );
    return { requeueAfterMs: rolloutPollMs, outcome: 'progressing' };
  }
  await pass.write({ kind: 'ready', message: end.message }, settled);
  await pass.announce('Normal', Reason.Applied, end.event);
  deps.metrics.lastSuccess.set(pass.labels, deps.now().getTime() / 1000);
  return { requeueAfterMs: deps.resyncMs, outcome: 'ready' };
}
