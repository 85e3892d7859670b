import type {
  ConnectionOptions,
  DatabaseObservation,
  Migrator,
  MigratorEvents,
  RevisionGraph,
} from '../../migrator/index.js';
import type { JobPort } from '../jobs/index.js';
import type { Lru } from '../lru.js';
import type { ControllerMetrics } from '../metrics.js';
import type { Spec } from '../resource.js';
import type { Pass, ReportingPort } from './pass.js';
import type { WorkloadState } from './rollout.js';
import type { DriftCheck } from './schema-drift.js';
import type { ChainCache, ObjectReader } from './sources.js';

/** The cluster as the reconciler needs it: reads, one status write, Events, migration Jobs. */
export interface ClusterPort extends ObjectReader, JobPort, ReportingPort {
  /** A Deployment's or StatefulSet's rollout state; null when it does not exist. */
  workload(
    namespace: string,
    kind: 'Deployment' | 'StatefulSet',
    name: string,
  ): Promise<WorkloadState | null>;
}

export interface ReconcileDeps {
  readonly cluster: ClusterPort;
  readonly embeddedGraph: () => Promise<RevisionGraph>;
  readonly chains: ChainCache;
  /** A ConfigMap's resourceVersion as the controller's watch last saw it (undefined: not watched, or not seen). */
  readonly configMapVersion?: (namespace: string, name: string) => string | undefined;
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

/** One pass's reporting, the ports, and the spec it works from: what the in-process steps share. */
export interface PassContext {
  readonly pass: Pass;
  readonly deps: ReconcileDeps;
  readonly spec: Spec;
}
