import { join } from 'node:path';
import {
  executedBy,
  loadMigrations,
  observeDatabase,
  RevisionGraph,
  type SessionPool,
} from '../../migrator/index.js';
import { mergeEvents } from '../../telemetry/tracing.js';
import type { KubeCluster } from '../kube.js';
import { Lru } from '../lru.js';
import type { ControllerMetrics } from '../metrics.js';
import { ChainCache, type DriftCheck, migratorForSpec, reconcile } from '../migration/index.js';
import { tablesOf } from '../resource.js';
import { type KubeSetCluster, reconcileSet } from '../sets/index.js';
import { shownError } from '../shown-text.js';
import type { ControllerConfig } from './controller-config.js';
import type { Watches } from './watches.js';
import { type WorkKey, workOf } from './work-key.js';

/**
 * A migration Job's trace: its spans continue this reconcile's (TRACEPARENT, which the CLI
 * reads) and go where the controller's go.
 */
function traceEnv(traceparent: string): Record<string, string> {
  const env: Record<string, string> = { TRACEPARENT: traceparent };
  for (const name of [
    'OTEL_EXPORTER_OTLP_ENDPOINT',
    'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT',
    'OTEL_EXPORTER_OTLP_PROTOCOL',
  ]) {
    const value = process.env[name];
    if (value) env[name] = value;
  }
  return env;
}

/**
 * What the queue's workers do with a key: the reconcile of its DatabaseMigration or set,
 * found in the watches' caches, with its span, metric and log line. The caches a
 * reconcile keeps between passes (chains, drift readings, the embedded graph) live here.
 */
export class ReconcileWork {
  readonly #chains = new ChainCache(256);
  readonly #driftReadings = new Lru<DriftCheck>(20_000);
  #graph: Promise<RevisionGraph> | null = null;

  constructor(
    private readonly config: ControllerConfig,
    private readonly watches: Watches,
    private readonly clusters: { readonly migrations: KubeCluster; readonly sets: KubeSetCluster },
    private readonly metrics: ControllerMetrics,
    private readonly sessions: SessionPool,
    private readonly stopping: AbortSignal,
  ) {}

  handle(key: WorkKey): Promise<{ requeueAfterMs: number | null }> {
    const work = workOf(key);
    return work.kind === 'set' ? this.#reconcileSet(work.objectKey) : this.#reconcile(work.objectKey);
  }

  async #reconcileSet(key: string): Promise<{ requeueAfterMs: number | null }> {
    const set = this.watches.findSet(key);
    if (!set) return { requeueAfterMs: null };
    const started = performance.now();
    try {
      const result = await reconcileSet(set, {
        cluster: this.clusters.sets,
        children: (s) => this.watches.childrenOf(s),
        resyncMs: this.config.resyncMs,
        now: () => new Date(),
      });
      this.metrics.reconciles.inc({ result: result.outcome });
      if (result.counts) this.metrics.setCounts(set.metadata.namespace, set.metadata.name, result.counts);
      this.config.logger.info(
        { set: key, outcome: result.outcome, durationMs: Math.round(performance.now() - started) },
        'reconciled set',
      );
      return result;
    } catch (err) {
      this.metrics.reconciles.inc({ result: 'error' });
      this.config.logger.error(
        { set: key, err: shownError(err) },
        'set reconcile failed; retrying with backoff',
      );
      throw err;
    }
  }

  #embeddedGraph(): Promise<RevisionGraph> {
    this.#graph ??= loadMigrations(this.config.migrationsDir).then((m) => RevisionGraph.build(m));
    return this.#graph;
  }

  async #reconcile(key: string): Promise<{ requeueAfterMs: number | null }> {
    const resource = this.watches.find(key);
    if (!resource) return { requeueAfterMs: null };
    const started = performance.now();
    const { logger, tracing, backupDir } = this.config;
    const span = tracing?.start('reconcile', {
      'k8s.namespace.name': resource.metadata.namespace,
      'revisor.resource': key,
    });
    let outcome = 'error';
    try {
      const result = await reconcile(resource, {
        cluster: this.clusters.migrations,
        embeddedGraph: () => this.#embeddedGraph(),
        chains: this.#chains,
        configMapVersion: (namespace, name) => this.watches.configMapVersion(`${namespace}/${name}`),
        driftReadings: this.#driftReadings,
        observeDatabase: (connection, spec, since) =>
          observeDatabase(this.sessions.factory(connection), tablesOf(spec.versionTable), since),
        traceEnv: () => (span ? traceEnv(span.traceparent) : {}),
        openMigrator: (connection, graph, spec, events, resource) =>
          migratorForSpec(spec, connection, graph, mergeEvents(events, span?.events), {
            executedBy: executedBy(),
            signal: this.stopping,
            sessions: this.sessions,
            backupDir: backupDir && join(backupDir, resource.namespace, resource.name),
          }),
        metrics: this.metrics,
        connectTimeoutMs: this.config.connectTimeoutMs,
        resyncMs: this.config.resyncMs,
        now: () => new Date(),
      });
      outcome = result.outcome;
      this.metrics.reconciles.inc({ result: result.outcome });
      logger.info(
        {
          resource: key,
          outcome: result.outcome,
          requeueAfterMs: result.requeueAfterMs,
          durationMs: Math.round(performance.now() - started),
        },
        'reconciled',
      );
      return result;
    } catch (err) {
      this.metrics.reconciles.inc({ result: 'error' });
      logger.error({ resource: key, err: shownError(err) }, 'reconcile failed; retrying with backoff');
      throw err;
    } finally {
      span?.end({ ok: outcome !== 'failed' && outcome !== 'error', code: outcome });
      this.metrics.reconcileDuration.observe((performance.now() - started) / 1000);
    }
  }
}
