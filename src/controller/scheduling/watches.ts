import type { ApiClient } from '../api/index.js';
import { ApiServerError } from '../http-status.js';
import type { ObjectMeta } from '../kube.js';
import type { ControllerMetrics } from '../metrics.js';
import { approvedPlanAnnotation } from '../migration/index.js';
import { type DatabaseMigration, keyOf, specSchema } from '../resource.js';
import { type DatabaseMigrationSet, owningSet, setPlural } from '../set-resource.js';
import { shownError } from '../shown-text.js';
import type { ControllerConfig } from './controller-config.js';
import { Informer, type Meta } from './informer.js';
import { migrationsListWatch, referencedListWatch } from './kube-watch.js';
import { migrationWork, setWork, type WorkKey } from './work-key.js';
import type { WorkQueue } from './workqueue.js';

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
 * What the controller watches: DatabaseMigrations (and sets) in its namespaces and shard,
 * and the Secrets and ConfigMaps they name, each change turned into work on the queue.
 * The informers' caches are also where a reconcile finds its resource.
 */
export class Watches {
  readonly #migrations: Informer<DatabaseMigration>[];
  readonly #sets: Informer<DatabaseMigrationSet>[];
  readonly #configMaps: Informer<ObjectMeta>[];
  readonly #secrets: Informer<ObjectMeta>[];

  constructor(
    api: ApiClient,
    config: ControllerConfig,
    queue: WorkQueue<WorkKey>,
    metrics: ControllerMetrics,
  ) {
    const namespaces = config.namespaces ?? [null];
    const selector = config.selector ?? undefined;
    const options = informerOptions(config);
    this.#migrations = namespaces.map(
      (ns) =>
        new Informer(migrationsListWatch(api, ns, undefined, selector), onMigration(queue, metrics), options),
    );
    this.#sets = config.migrationSets
      ? namespaces.map(
          (ns) =>
            new Informer<DatabaseMigrationSet>(
              migrationsListWatch(api, ns, setPlural, selector),
              onSet(queue, metrics),
              options,
            ),
        )
      : [];
    // Without the Secret watch the operator needs only get on Secrets; a missing or refused
    // Secret is then retried with backoff (reasons.ts) instead of on its change.
    const watched = (ns: string | null, plural: 'secrets' | 'configmaps', kind: 'secrets' | 'configMaps') =>
      new Informer(referencedListWatch(api, plural, ns), this.#onReferenced(queue, kind), options);
    this.#configMaps = namespaces.map((ns) => watched(ns, 'configmaps', 'configMaps'));
    this.#secrets = config.watchSecrets ? namespaces.map((ns) => watched(ns, 'secrets', 'secrets')) : [];
  }

  find(key: string): DatabaseMigration | undefined {
    return firstFound(this.#migrations, key);
  }

  findSet(key: string): DatabaseMigrationSet | undefined {
    return firstFound(this.#sets, key);
  }

  childrenOf(set: DatabaseMigrationSet): DatabaseMigration[] {
    const children: DatabaseMigration[] = [];
    for (const informer of this.#migrations)
      for (const resource of informer.values())
        if (
          resource.metadata.namespace === set.metadata.namespace &&
          resource.metadata.ownerReferences?.some((o) => o.controller && o.uid === set.metadata.uid)
        )
          children.push(resource);
    return children;
  }

  /** The watched ConfigMap's resourceVersion, so an unchanged chain is not fetched again. */
  configMapVersion(key: string): string | undefined {
    return firstFound(this.#configMaps, key)?.metadata.resourceVersion;
  }

  get all(): readonly { start(): void; stop(): Promise<void>; readonly synced: boolean }[] {
    return [...this.#migrations, ...this.#sets, ...this.#secrets, ...this.#configMaps];
  }

  /** A Secret or ConfigMap changed: every resource in its namespace that names it looks again. */
  #onReferenced(queue: WorkQueue<WorkKey>, kind: 'secrets' | 'configMaps') {
    return (_key: string, object: ObjectMeta | null, previous: ObjectMeta | null) => {
      const changed = object ?? previous;
      if (!changed) return;
      for (const informer of this.#migrations) {
        for (const resource of informer.values()) {
          if (resource.metadata.namespace !== changed.metadata.namespace) continue;
          if (references(resource)[kind].includes(changed.metadata.name ?? ''))
            queue.add(migrationWork(keyOf(resource)));
        }
      }
    };
  }
}

function firstFound<T extends Meta>(informers: readonly Informer<T>[], key: string): T | undefined {
  for (const informer of informers) {
    const found = informer.get(key);
    if (found) return found;
  }
  return undefined;
}

function informerOptions({ logger, watchdogMs }: ControllerConfig) {
  return {
    initialBackoffMs: 500,
    maxBackoffMs: 30_000,
    watchdogMs,
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
function onMigration(queue: WorkQueue<WorkKey>, metrics: ControllerMetrics) {
  return (key: string, object: DatabaseMigration | null, previous: DatabaseMigration | null) => {
    // A child's every change (its status included) may move its set's rollout on.
    const set = owningSet((object ?? previous)?.metadata ?? {});
    if (set)
      queue.add(setWork({ metadata: { namespace: (object ?? previous)?.metadata.namespace, name: set } }));
    if (!object) {
      queue.forget(migrationWork(key));
      const [namespace = '', name = ''] = key.split('/');
      metrics.forget(namespace, name);
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

function onSet(queue: WorkQueue<WorkKey>, metrics: ControllerMetrics) {
  return (_key: string, object: DatabaseMigrationSet | null, previous: DatabaseMigrationSet | null) => {
    if (!object && previous) {
      queue.forget(setWork(previous));
      metrics.forgetSet(previous.metadata.namespace, previous.metadata.name);
    }
    if (object && previous?.metadata.generation !== object.metadata.generation) queue.add(setWork(object));
  };
}
