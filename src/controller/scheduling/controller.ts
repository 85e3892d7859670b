import { join } from 'node:path';
import type * as k8s from '@kubernetes/client-node';
import type { Logger } from '../../log/logger.js';
import {
  executedBy,
  loadMigrations,
  observeDatabase,
  RevisionGraph,
  SessionPool,
  type SessionPoolOptions,
} from '../../migrator/index.js';
import { mergeEvents, type Tracing } from '../../telemetry/tracing.js';
import { ApiServerError } from '../http-status.js';
import { KubeCluster, type ObjectMeta } from '../kube.js';
import { Lru } from '../lru.js';
import { ControllerMetrics } from '../metrics.js';
import {
  approvedPlanAnnotation,
  ChainCache,
  type DriftCheck,
  migratorForSpec,
  reconcile,
} from '../migration/index.js';
import { type DatabaseMigration, keyOf, specSchema, tablesOf } from '../resource.js';
import { type DatabaseMigrationSet, owningSet, setPlural } from '../set-resource.js';
import { KubeSetCluster, reconcileSet } from '../sets/index.js';
import { shownError } from '../shown-text.js';
import { Informer } from './informer.js';
import { leaseStore, migrationsListWatch, referencedListWatch } from './kube-watch.js';
import { LeaderElector } from './leader.js';
import { startServer } from './server.js';
import { migrationWork, setWork, type WorkKey, workOf } from './work-key.js';
import { WorkQueue } from './workqueue.js';

export interface ControllerConfig {
  readonly kubeConfig: k8s.KubeConfig;
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
  /** How long one request to the API server may take (the kubeconfig is set up with requestTimeouts). */
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

/** Which resources reference a Secret or ConfigMap, so a change to it re-triggers them. */
function references(resource: DatabaseMigration): { secrets: string[]; configMaps: string[] } {
  const parsed = specSchema.safeParse(resource.spec);
  if (!parsed.success) return { secrets: [], configMaps: [] };
  const db = parsed.data.database;
  const secrets = [db.urlSecretRef?.name, db.credentialsSecretRef?.name, db.caSecretRef?.name].filter(
    (s): s is string => !!s,
  );
  const configMap = parsed.data.migrations.configMapRef?.name;
  return { secrets, configMaps: configMap ? [configMap] : [] };
}

/**
 * The operator: informers on DatabaseMigrations (and the Secrets and ConfigMaps they
 * name), a work queue, the reconciler, metrics and probes, behind a leader lease when
 * asked. `run` resolves when the signal aborts (after the grace period) or the lease is lost.
 */
export class Controller {
  readonly #config: ControllerConfig;
  readonly metrics = new ControllerMetrics();
  readonly #stopWork = new AbortController();
  #informers: Informer<DatabaseMigration>[] = [];
  #setInformers: Informer<DatabaseMigrationSet>[] = [];
  #watchers: Informer<ObjectMeta>[] = [];
  #configMapWatchers: Informer<ObjectMeta>[] = [];
  #queue: WorkQueue<WorkKey> | null = null;
  #graph: Promise<RevisionGraph> | null = null;
  readonly #sessions: SessionPool;
  readonly #chains = new ChainCache(256);
  readonly #driftReadings = new Lru<DriftCheck>(20_000);

  constructor(config: ControllerConfig) {
    this.#config = config;
    this.#sessions = new SessionPool(config.sessionPool);
  }

  #find(key: string): DatabaseMigration | undefined {
    for (const informer of this.#informers) {
      const found = informer.get(key);
      if (found) return found;
    }
    return undefined;
  }

  #findSet(key: string): DatabaseMigrationSet | undefined {
    for (const informer of this.#setInformers) {
      const found = informer.get(key);
      if (found) return found;
    }
    return undefined;
  }

  #childrenOf(set: DatabaseMigrationSet): DatabaseMigration[] {
    const children: DatabaseMigration[] = [];
    for (const informer of this.#informers)
      for (const resource of informer.values())
        if (
          resource.metadata.namespace === set.metadata.namespace &&
          resource.metadata.ownerReferences?.some((o) => o.controller && o.uid === set.metadata.uid)
        )
          children.push(resource);
    return children;
  }

  #startWork(): void {
    const { kubeConfig: kc, logger } = this.#config;
    const cluster = new KubeCluster(kc);
    const setCluster = new KubeSetCluster(kc, cluster, this.#config.apiTimeoutMs);
    const namespaces = this.#config.namespaces ?? [null];
    const handle = (key: WorkKey) => {
      const work = workOf(key);
      return work.kind === 'set'
        ? this.#reconcileSet(work.objectKey, setCluster)
        : this.#reconcile(work.objectKey, cluster);
    };
    const queue = new WorkQueue<WorkKey>(handle, {
      concurrency: this.#config.maxConcurrent,
      baseDelayMs: 1000,
      // An API server outage is retried on this backoff: it must not outgrow the outage much.
      maxDelayMs: 60_000,
      requeueJitter: 0.1,
    });
    this.#queue = queue;
    const options = this.#informerOptions();
    this.#informers = namespaces.map(
      (ns) =>
        new Informer(
          migrationsListWatch(kc, ns, undefined, this.#config.selector ?? undefined),
          this.#onMigration(queue),
          options,
        ),
    );
    this.#setInformers = this.#config.migrationSets
      ? namespaces.map(
          (ns) =>
            new Informer<DatabaseMigrationSet>(
              migrationsListWatch(kc, ns, setPlural, this.#config.selector ?? undefined),
              this.#onSet(queue),
              options,
            ),
        )
      : [];
    // Without the Secret watch the operator needs only get on Secrets; a missing or refused
    // Secret is then retried with backoff (reasons.ts) instead of on its change.
    const watched = (ns: string | null, plural: 'secrets' | 'configmaps', kind: 'secrets' | 'configMaps') =>
      new Informer(
        referencedListWatch(kc, plural, ns, this.#config.apiTimeoutMs),
        this.#onReferenced(queue, kind),
        options,
      );
    this.#configMapWatchers = namespaces.map((ns) => watched(ns, 'configmaps', 'configMaps'));
    this.#watchers = [
      ...(this.#config.watchSecrets ? namespaces.map((ns) => watched(ns, 'secrets', 'secrets')) : []),
      ...this.#configMapWatchers,
    ];
    for (const informer of this.#allInformers()) informer.start();
    logger.info({ namespaces: this.#config.namespaces ?? 'all' }, 'controller started');
  }

  #informerOptions() {
    const { logger } = this.#config;
    return {
      initialBackoffMs: 500,
      maxBackoffMs: 30_000,
      watchdogMs: this.#config.watchdogMs,
      // A new CRD's storage answers 429 for a moment, and an API server restarting refuses:
      // the first tries are routine and said quietly; a watch still failing is a warning.
      // The message is the status or transport code, not the response body.
      onError: (err: unknown, failures: number, retryInMs: number) =>
        (failures > 2 ? logger.warn : logger.info).call(
          logger,
          failures > 2 ? { failures, err: shownError(err) } : { failures },
          `watch failed (${new ApiServerError('watch', err).message.replace(/^watch: /, '')}); relisting in ${(retryInMs / 1000).toFixed(1)} s`,
        ),
    };
  }

  /** A DatabaseMigration changed: its own work when its spec or approval did, and its set's. */
  #onMigration(queue: WorkQueue<WorkKey>) {
    return (key: string, object: DatabaseMigration | null, previous: DatabaseMigration | null) => {
      // A child's every change (its status included) may move its set's rollout on.
      const set = owningSet((object ?? previous)?.metadata ?? {});
      if (set)
        queue.add(setWork({ metadata: { namespace: (object ?? previous)?.metadata.namespace, name: set } }));
      if (!object) {
        queue.forget(migrationWork(key));
        const [namespace = '', name = ''] = key.split('/');
        this.metrics.forget(namespace, name);
        return;
      }
      // Status writes do not change the generation: they must not re-trigger a reconcile.
      // An approval is an annotation, which does not either: it must.
      const approval = (o: DatabaseMigration) => o.metadata.annotations?.[approvedPlanAnnotation];
      if (
        !previous ||
        previous.metadata.generation !== object.metadata.generation ||
        approval(previous) !== approval(object)
      )
        queue.add(migrationWork(key));
    };
  }

  #onSet(queue: WorkQueue<WorkKey>) {
    return (_key: string, object: DatabaseMigrationSet | null, previous: DatabaseMigrationSet | null) => {
      if (!object && previous) {
        queue.forget(setWork(previous));
        this.metrics.forgetSet(previous.metadata.namespace, previous.metadata.name);
      }
      if (object && previous?.metadata.generation !== object.metadata.generation) queue.add(setWork(object));
    };
  }

  /** A Secret or ConfigMap changed: every resource in its namespace that names it looks again. */
  #onReferenced(queue: WorkQueue<WorkKey>, kind: 'secrets' | 'configMaps') {
    return (_key: string, object: ObjectMeta | null, previous: ObjectMeta | null) => {
      const changed = object ?? previous;
      if (!changed) return;
      for (const informer of this.#informers) {
        for (const resource of informer.values()) {
          if (resource.metadata.namespace !== changed.metadata.namespace) continue;
          if (references(resource)[kind].includes(changed.metadata.name ?? ''))
            queue.add(migrationWork(keyOf(resource)));
        }
      }
    };
  }

  #configMapVersion(key: string): string | undefined {
    for (const informer of this.#configMapWatchers) {
      const found = informer.get(key);
      if (found) return found.metadata.resourceVersion;
    }
    return undefined;
  }

  #allInformers(): { start(): void; stop(): Promise<void>; readonly synced: boolean }[] {
    return [...this.#informers, ...this.#setInformers, ...this.#watchers];
  }

  async #reconcileSet(key: string, cluster: KubeSetCluster): Promise<{ requeueAfterMs: number | null }> {
    const set = this.#findSet(key);
    if (!set) return { requeueAfterMs: null };
    const started = performance.now();
    try {
      const result = await reconcileSet(set, {
        cluster,
        children: (s) => this.#childrenOf(s),
        resyncMs: this.#config.resyncMs,
        now: () => new Date(),
      });
      this.metrics.reconciles.inc({ result: result.outcome });
      if (result.counts) this.metrics.setCounts(set.metadata.namespace, set.metadata.name, result.counts);
      this.#config.logger.info(
        {
          set: key,
          outcome: result.outcome,
          durationMs: Math.round(performance.now() - started),
        },
        'reconciled set',
      );
      return result;
    } catch (err) {
      this.metrics.reconciles.inc({ result: 'error' });
      this.#config.logger.error(
        { set: key, err: shownError(err) },
        'set reconcile failed; retrying with backoff',
      );
      throw err;
    }
  }

  #embeddedGraph(): Promise<RevisionGraph> {
    this.#graph ??= loadMigrations(this.#config.migrationsDir).then((m) => RevisionGraph.build(m));
    return this.#graph;
  }

  async #reconcile(key: string, cluster: KubeCluster): Promise<{ requeueAfterMs: number | null }> {
    const resource = this.#find(key);
    if (!resource) return { requeueAfterMs: null };
    const started = performance.now();
    const { logger } = this.#config;
    const span = this.#config.tracing?.start('reconcile', {
      'k8s.namespace.name': resource.metadata.namespace,
      'revisor.resource': key,
    });
    let outcome = 'error';
    try {
      const result = await reconcile(resource, {
        cluster,
        embeddedGraph: () => this.#embeddedGraph(),
        chains: this.#chains,
        configMapVersion: (namespace, name) => this.#configMapVersion(`${namespace}/${name}`),
        driftReadings: this.#driftReadings,
        observeDatabase: (connection, spec, since) =>
          observeDatabase(this.#sessions.factory(connection), tablesOf(spec.versionTable), since),
        traceEnv: () => (span ? traceEnv(span.traceparent) : {}),
        openMigrator: (connection, graph, spec, events, resource) =>
          migratorForSpec(spec, connection, graph, mergeEvents(events, span?.events), {
            executedBy: executedBy(),
            signal: this.#stopWork.signal,
            sessions: this.#sessions,
            backupDir:
              this.#config.backupDir && join(this.#config.backupDir, resource.namespace, resource.name),
          }),
        metrics: this.metrics,
        connectTimeoutMs: this.#config.connectTimeoutMs,
        resyncMs: this.#config.resyncMs,
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

  async #stopAll(): Promise<void> {
    this.#stopWork.abort('shutting down');
    const grace = new Promise<void>((r) => setTimeout(r, this.#config.shutdownGraceMs).unref());
    await Promise.race([this.#queue?.shutDown() ?? Promise.resolve(), grace]);
    await Promise.all(this.#allInformers().map((i) => i.stop()));
    await this.#sessions.close();
  }

  /** Runs until `signal` aborts; resolves 'lost' if the lease was lost (the caller should exit non-zero). */
  async run(signal: AbortSignal): Promise<'stopped' | 'lost'> {
    const { logger, leaderElection } = this.#config;
    let started = false;
    const server = await startServer(this.#config.metricsAddr, this.metrics.registry, {
      healthy: () => !this.#stopWork.signal.aborted,
      ready: () => !started || this.#allInformers().every((i) => i.synced),
    });
    try {
      if (!leaderElection) {
        this.metrics.leader.set(1);
        this.#startWork();
        started = true;
        await new Promise<void>((r) => signal.addEventListener('abort', () => r(), { once: true }));
        await this.#stopAll();
        return 'stopped';
      }
      const elector = new LeaderElector(
        leaseStore(this.#config.kubeConfig, leaderElection.namespace, leaderElection.name),
        {
          ...leaderElection,
          onError: (err) => logger.warn({ err: shownError(err) }, 'lease update failed'),
        },
      );
      logger.info({ identity: leaderElection.identity }, 'waiting for the leader lease');
      const ended = await elector.run(signal, () => {
        logger.info({ identity: leaderElection.identity }, 'became the leader');
        this.metrics.leader.set(1);
        this.#startWork();
        started = true;
      });
      this.metrics.leader.set(0);
      if (started) await this.#stopAll();
      if (ended === 'stopped')
        await elector.release().catch((err) => logger.warn({ err: shownError(err) }, 'lease release failed'));
      else logger.error({}, 'lost the leader lease; stopping');
      return ended;
    } finally {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    }
  }
}
