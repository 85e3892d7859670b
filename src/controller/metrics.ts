import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/** Buckets shared with the CLI's Pushgateway metrics, so both series aggregate together. */
export const stepDurationBuckets = [0.01, 0.05, 0.1, 0.5, 1, 5, 15, 60, 300, 1800];
export const lockWaitBuckets = [0.001, 0.01, 0.1, 1, 5, 30, 120, 600];

/** The controller's Prometheus metrics, on a registry of its own (no module-global state). */
export class ControllerMetrics {
  readonly registry = new Registry();
  readonly applied = new Counter({
    name: 'revisor_migrations_applied_total',
    help: 'Migration steps run, by resource, direction and result.',
    labelNames: ['namespace', 'name', 'direction', 'result'] as const,
    registers: [this.registry],
  });
  readonly stepDuration = new Histogram({
    name: 'revisor_migration_duration_seconds',
    help: 'Duration of one migration step.',
    labelNames: ['direction'] as const,
    buckets: stepDurationBuckets,
    registers: [this.registry],
  });
  readonly lockWait = new Histogram({
    name: 'revisor_lock_wait_seconds',
    help: 'Time spent waiting for the migration advisory lock.',
    buckets: lockWaitBuckets,
    registers: [this.registry],
  });
  readonly blocked = new Counter({
    name: 'revisor_step_blocked_seconds_total',
    help: 'Time steps spent waiting for table locks held by other sessions, as seen by the blocker watch.',
    labelNames: ['namespace', 'name'] as const,
    registers: [this.registry],
  });
  readonly pending = new Gauge({
    name: 'revisor_pending_migrations',
    help: 'Steps between the database and its target.',
    labelNames: ['namespace', 'name'] as const,
    registers: [this.registry],
  });
  readonly revisionInfo = new Gauge({
    name: 'revisor_current_revision_info',
    help: "The database's current revision (heads, comma-joined) as a label; the value is 1.",
    labelNames: ['namespace', 'name', 'revision'] as const,
    registers: [this.registry],
  });
  readonly reconciles = new Counter({
    name: 'revisor_reconcile_total',
    help: 'Reconciles, by result.',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });
  readonly reconcileDuration = new Histogram({
    name: 'revisor_reconcile_duration_seconds',
    help: 'Duration of one reconcile.',
    // Fine below 50 ms: a no-op resync reconcile is a few ms, and its p50/p99 are watched.
    buckets: [
      0.001, 0.0025, 0.005, 0.0075, 0.01, 0.015, 0.025, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 1, 5, 30, 120, 600,
    ],
    registers: [this.registry],
  });
  readonly lastSuccess = new Gauge({
    name: 'revisor_last_success_timestamp_seconds',
    help: 'When the resource last reconciled to Ready.',
    labelNames: ['namespace', 'name'] as const,
    registers: [this.registry],
  });
  readonly drift = new Gauge({
    name: 'revisor_drift_detected',
    help: 'Whether the database differs from what the operator applied (revision or checksum): 1 or 0.',
    labelNames: ['namespace', 'name'] as const,
    registers: [this.registry],
  });
  readonly backfillRows = new Gauge({
    name: 'revisor_backfill_rows_done',
    help: 'Rows the running backfill (op.backfill) has updated so far.',
    labelNames: ['namespace', 'name', 'revision', 'table'] as const,
    registers: [this.registry],
  });
  readonly schemaDrift = new Gauge({
    name: 'revisor_schema_drift_objects',
    help: 'Catalog differences between the database and the schema recorded at its last apply.',
    labelNames: ['namespace', 'name'] as const,
    registers: [this.registry],
  });
  readonly setDatabases = new Gauge({
    name: 'revisor_set_databases',
    help: "A DatabaseMigrationSet's databases in each state: Ready, Progressing, Failed, Waiting.",
    labelNames: ['namespace', 'set', 'state'] as const,
    registers: [this.registry],
  });
  readonly leader = new Gauge({
    name: 'revisor_leader',
    help: 'Whether this process holds the leader lease: 1 or 0.',
    registers: [this.registry],
  });
  readonly #revisions = new Map<string, string>();

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }

  /** Replaces the resource's revision label, so exactly one series per resource stays. */
  currentRevision(namespace: string, name: string, revision: string): void {
    const key = `${namespace}/${name}`;
    const before = this.#revisions.get(key);
    if (before !== undefined && before !== revision)
      this.revisionInfo.remove({ namespace, name, revision: before });
    this.#revisions.set(key, revision);
    this.revisionInfo.set({ namespace, name, revision }, 1);
  }

  setCounts(namespace: string, set: string, counts: Readonly<Record<string, number>>): void {
    for (const [state, n] of Object.entries(counts)) this.setDatabases.set({ namespace, set, state }, n);
  }

  forgetSet(namespace: string, set: string): void {
    for (const state of ['Ready', 'Progressing', 'Failed', 'Waiting'])
      this.setDatabases.remove({ namespace, set, state });
  }

  /** A deleted resource's series go with it. */
  forget(namespace: string, name: string): void {
    const before = this.#revisions.get(`${namespace}/${name}`);
    if (before !== undefined) this.revisionInfo.remove({ namespace, name, revision: before });
    this.#revisions.delete(`${namespace}/${name}`);
    for (const gauge of [this.pending, this.lastSuccess, this.drift, this.schemaDrift])
      gauge.remove({ namespace, name });
    this.blocked.remove({ namespace, name });
  }
}
