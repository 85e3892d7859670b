import { isDeepStrictEqual } from 'node:util';
import type { Drift, Outcome } from '../conditions.js';
import { Reason } from '../reasons.js';
import { type DatabaseMigration, group, specSchema, version } from '../resource.js';
import {
  type DatabaseMigrationSet,
  type SetSpec,
  type SetStatus,
  setKind,
  setSpecSchema,
  shardLabel,
  type TenantState,
} from '../set-resource.js';
import { StatusWriter } from '../status-writer.js';
import {
  type ChildView,
  childName,
  childSpec,
  decideWave,
  readTenant,
  selectorQuery,
  summarize,
  type TenantDatabase,
  type TenantReading,
} from './set-rollout.js';

/** What reconciling a set needs of the cluster. */
export interface SetClusterPort {
  secretNames(namespace: string, labelSelector: string): Promise<string[]>;
  createMigration(child: DatabaseMigration): Promise<void>;
  /** false: the child changed since it was read (retried on the next reconcile). */
  replaceMigrationSpec(child: DatabaseMigration, spec: Record<string, unknown>): Promise<boolean>;
  /** false: already gone (the informer's cache had not caught up). */
  deleteMigration(namespace: string, name: string): Promise<boolean>;
  writeSetStatus(set: DatabaseMigrationSet, status: SetStatus): Promise<void>;
  setEvent(
    set: DatabaseMigrationSet,
    type: 'Normal' | 'Warning',
    reason: string,
    message: string,
  ): Promise<void>;
}

export interface SetReconcileDeps {
  readonly cluster: SetClusterPort;
  /** The DatabaseMigrations this set controls (from the informer's cache). */
  readonly children: (set: DatabaseMigrationSet) => DatabaseMigration[];
  readonly resyncMs: number;
  readonly now: () => Date;
}

export interface SetReconcileResult {
  readonly requeueAfterMs: number | null;
  readonly outcome: Outcome['kind'];
  /** The databases in each state; absent when the spec is invalid. */
  readonly counts?: Record<TenantState, number>;
}

/** A spec as the migrator reads it, defaults filled in, so CRD defaulting does not read as a change. */
const normalized = (spec: unknown) => specSchema.safeParse(spec).data;

const secretOf = (child: DatabaseMigration) =>
  (child.spec as { database?: { urlSecretRef?: { name?: string } } } | null)?.database?.urlSecretRef?.name ??
  '';

async function tenantDatabases(set: DatabaseMigrationSet, spec: SetSpec, cluster: SetClusterPort) {
  const { secretSelector, secrets, key } = spec.databases;
  if (secrets) return secrets.map((s): TenantDatabase => ({ secret: s.name, key: s.key ?? key }));
  const names = await cluster.secretNames(set.metadata.namespace, selectorQuery(secretSelector ?? {}));
  return names.sort().map((secret): TenantDatabase => ({ secret, key }));
}

function newChild(set: DatabaseMigrationSet, name: string, spec: Record<string, unknown>): DatabaseMigration {
  const { namespace, name: setName, uid = '' } = set.metadata;
  return {
    apiVersion: `${group}/${version}`,
    kind: 'DatabaseMigration',
    metadata: {
      name,
      namespace,
      labels: {
        'app.kubernetes.io/managed-by': 'revisor',
        ...(setName.length <= 63 ? { 'revisor.dev/set': setName } : {}),
        // The set's shard is its children's: the controller that rolls the set out sees them.
        ...(set.metadata.labels?.[shardLabel] ? { [shardLabel]: set.metadata.labels[shardLabel] } : {}),
      },
      ownerReferences: [
        {
          apiVersion: `${group}/${version}`,
          kind: setKind,
          name: setName,
          uid,
          controller: true,
          blockOwnerDeletion: true,
        },
      ],
    },
    spec,
  };
}

/**
 * The set's spec, and the spec a child would get from it: a combination a DatabaseMigration
 * refuses (an image with approval, say) is the set's error, not fifty children's.
 */
function parseSetSpec(
  raw: Record<string, unknown>,
): { success: true; data: SetSpec } | { success: false; message: string } {
  const parsed = setSpecSchema.safeParse(raw);
  const error = parsed.success
    ? specSchema.safeParse(childSpec(raw, { secret: 'any', key: 'url' }, parsed.data.targetRevision)).error
    : parsed.error;
  if (!error) return { success: true, data: parsed.data! };
  return {
    success: false,
    message: error.issues.map((i) => `${i.path.join('.') || 'spec'}: ${i.message}`).join('; '),
  };
}

/**
 * One reconcile of a DatabaseMigrationSet: observe (tenant Secrets, children), decide
 * (set-rollout.ts), act (create, retarget and delete children; one status write). The
 * children do the migrating; a child whose Secret no longer matches is deleted, which
 * leaves its database as it is.
 */
export async function reconcileSet(
  set: DatabaseMigrationSet,
  deps: SetReconcileDeps,
): Promise<SetReconcileResult> {
  const { cluster } = deps;
  const generation = set.metadata.generation ?? 0;
  const writer = new StatusWriter<SetStatus>({
    initial: set.status,
    generation,
    now: deps.now,
    mode: 'replace',
    shown: (status) => status,
    persist: (status) => cluster.writeSetStatus(set, status),
  });
  const write = async (
    outcome: Outcome,
    rest: Omit<SetStatus, 'conditions' | 'observedGeneration'>,
    drift: Drift | null = null,
  ) => {
    const before = set.status?.conditions?.find((c) => c.type === 'Ready')?.reason;
    if (!(await writer.write(outcome, rest, drift))) return;
    const after = writer.status.conditions?.find((c) => c.type === 'Ready');
    if (after && before !== after.reason)
      await cluster.setEvent(
        set,
        outcome.kind === 'failed' ? 'Warning' : 'Normal',
        after.reason,
        after.message,
      );
  };

  const raw = (set.spec ?? {}) as Record<string, unknown>;
  const parsed = parseSetSpec(raw);
  if (!parsed.success) {
    await write(
      { kind: 'failed', reason: Reason.InvalidSpec, message: `invalid spec: ${parsed.message}` },
      {},
    );
    return { requeueAfterMs: null, outcome: 'failed' };
  }
  const spec = parsed.data;
  const target = spec.targetRevision;
  const databases = await tenantDatabases(set, spec, cluster);
  const wanted = new Map(databases.map((d) => [d.secret, d]));

  const children = await adoptChildren(set, deps, wanted);

  const order = databases.map((d) => d.secret);
  const readings = new Map<string, TenantReading>(
    order.map((s) => [s, readTenant(children.get(s)?.view, target)]),
  );
  // spec.suspend reaches every child (it is one of the shared fields); the set starts none either.
  const rollout = { ...spec.rollout, pause: spec.rollout.pause || spec.suspend };
  const wave = decideWave(order, readings, rollout);
  const starting = new Set(wave.start);

  await applyWave(set, cluster, raw, databases, children, { target, starting, readings });

  const views = new Map([...children].map(([secret, c]) => [secret, c.view]));
  const summary = summarize(target, order, readings, views, wave, rollout);
  await write(summary.outcome, summary.status, summary.drift);
  // Secrets are listed, not watched: the resync notices one that starts or stops matching.
  return { requeueAfterMs: deps.resyncMs, outcome: summary.outcome.kind, counts: summary.status.counts };
}

type Child = { readonly resource: DatabaseMigration; readonly view: ChildView };

/** The set's children by Secret; a child whose Secret no longer matches is deleted. */
async function adoptChildren(
  set: DatabaseMigrationSet,
  deps: SetReconcileDeps,
  wanted: ReadonlyMap<string, unknown>,
): Promise<Map<string, Child>> {
  const children = new Map<string, Child>();
  for (const child of deps.children(set)) {
    const secret = secretOf(child);
    // A second child for one Secret is not the set's doing (made by hand): left alone.
    if (children.has(secret)) continue;
    if (!wanted.has(secret)) {
      const deleted = await deps.cluster.deleteMigration(child.metadata.namespace, child.metadata.name);
      if (deleted)
        await deps.cluster.setEvent(
          set,
          'Normal',
          'Released',
          `Secret ${secret} is no longer one of the set's databases: DatabaseMigration ${child.metadata.name} deleted, the database is left as it is`,
        );
      continue;
    }
    const childTarget = (child.spec as { targetRevision?: string } | null)?.targetRevision ?? 'head';
    children.set(secret, {
      resource: child,
      view: {
        name: child.metadata.name,
        secret,
        targetRevision: childTarget,
        generation: child.metadata.generation ?? 0,
        status: child.status,
      },
    });
  }
  return children;
}

/** Children created or retargeted for the wave; those it starts count as started from now. */
async function applyWave(
  set: DatabaseMigrationSet,
  cluster: SetReconcileDeps['cluster'],
  raw: Record<string, unknown>,
  databases: readonly TenantDatabase[],
  children: ReadonlyMap<string, Child>,
  wave: {
    readonly target: string;
    readonly starting: ReadonlySet<string>;
    readonly readings: Map<string, TenantReading>;
  },
): Promise<void> {
  for (const database of databases) {
    const existing = children.get(database.secret);
    const childTarget = wave.starting.has(database.secret) ? wave.target : existing?.view.targetRevision;
    if (childTarget === undefined) continue;
    const desired = childSpec(raw, database, childTarget);
    if (!existing) {
      await cluster.createMigration(newChild(set, childName(set.metadata.name, database.secret), desired));
    } else if (!isDeepStrictEqual(normalized(existing.resource.spec), normalized(desired))) {
      await cluster.replaceMigrationSpec(existing.resource, desired);
    }
    // Counted as started now: the next status says so before the child has reconciled.
    if (wave.starting.has(database.secret))
      wave.readings.set(database.secret, {
        state: 'Progressing',
        started: true,
        reason: Reason.Migrating,
        message: 'starting',
      });
  }
}
