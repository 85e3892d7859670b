import type { Logger } from '../../log/logger.js';
import type { SessionPoolOptions } from '../../migrator/index.js';
import type { Tracing } from '../../telemetry/tracing.js';
import type { ApiServerAccess } from '../api/index.js';

export interface ControllerConfig {
  /** The API server and the credentials (a kubeconfig or the pod's ServiceAccount). */
  readonly apiServer: ApiServerAccess;
  /** null: every namespace. */
  readonly namespaces: readonly string[] | null;
  /** A label selector: this process's shard of the DatabaseMigrations (and sets); null for all. */
  readonly selector: string | null;
  readonly maxConcurrent: number;
  readonly resyncMs: number;
  /** Watch Secrets (metadata only) so a change to a referenced one re-triggers at once; needs list/watch on Secrets. */
  readonly watchSecrets: boolean;
  /** Reconcile DatabaseMigrationSets (their RBAC: sets, creating and deleting DatabaseMigrations, listing Secrets). */
  readonly migrationSets: boolean;
  /** The database sessions kept between reconciles. */
  readonly sessionPool: SessionPoolOptions;
  readonly metricsAddr: string;
  readonly migrationsDir: string;
  readonly connectTimeoutMs: number;
  /** How long one request to the API server may take (watches excepted). */
  readonly apiTimeoutMs: number;
  readonly shutdownGraceMs: number;
  readonly watchdogMs: number;
  /** OpenTelemetry traces (a span per reconcile), or null when OTEL_EXPORTER_OTLP_ENDPOINT is unset. */
  readonly tracing: Tracing | null;
  /** Where spec.backup dumps go (the chart mounts a PersistentVolumeClaim there); null: backups are refused. */
  readonly backupDir: string | null;
  readonly leaderElection: {
    readonly namespace: string;
    readonly name: string;
    readonly identity: string;
    readonly leaseDurationMs: number;
    readonly renewDeadlineMs: number;
    readonly retryPeriodMs: number;
  } | null;
  readonly logger: Logger;
}
