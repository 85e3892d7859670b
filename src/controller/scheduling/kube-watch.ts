import * as k8s from '@kubernetes/client-node';
import { guarded, httpStatus } from '../http-status.js';
import { listMetadata, metadataItem, type ObjectMeta } from '../kube.js';
import { type DatabaseMigration, group, plural, version } from '../resource.js';
import type { ListWatch, Meta } from './informer.js';
import type { LeaseRecord, LeaseStore } from './leader.js';

/** What the informers and the leader lease read from the API server, on @kubernetes/client-node. */

const watchPath = (prefix: string, resource: string, namespace: string | null) =>
  namespace ? `${prefix}/namespaces/${namespace}/${resource}` : `${prefix}/${resource}`;

function watchFrom<T>(
  kc: k8s.KubeConfig,
  path: string,
  map: (o: unknown) => T = (o) => o as T,
  labelSelector?: string,
) {
  return async (
    resourceVersion: string,
    onEvent: (type: string, object: unknown) => void,
    onDone: (err: unknown) => void,
  ) => {
    const controller = await new k8s.Watch(kc).watch(
      path,
      {
        resourceVersion,
        allowWatchBookmarks: true,
        timeoutSeconds: 300,
        ...(labelSelector ? { labelSelector } : {}),
      },
      (type, object) => onEvent(type, type === 'ERROR' || type === 'BOOKMARK' ? object : map(object)),
      onDone,
    );
    return { abort: () => controller.abort() };
  };
}

const lastApplied = 'kubectl.kubernetes.io/last-applied-configuration';

/**
 * What the informer keeps of an object: not its managedFields (a record of every writer's
 * fields, the controller's status writes among them) nor kubectl's copy of the spec it
 * last applied, which together are most of a small object; a status write ignores them.
 */
export function cacheable<T>(object: unknown): T {
  const { metadata, ...rest } = object as { metadata?: Record<string, unknown> };
  if (!metadata) return object as T;
  const { managedFields: _managedFields, annotations, ...meta } = metadata;
  if (!annotations) return { ...rest, metadata: meta } as T;
  const { [lastApplied]: _copy, ...kept } = annotations as Record<string, string>;
  return { ...rest, metadata: { ...meta, annotations: kept } } as T;
}

/**
 * DatabaseMigrations, or with `resourcePlural` DatabaseMigrationSets, of one namespace or
 * all; with a label selector (a shard, `--selector`), only those the API server matches.
 */
export function migrationsListWatch<T extends Meta = DatabaseMigration>(
  kc: k8s.KubeConfig,
  namespace: string | null,
  resourcePlural: string = plural,
  labelSelector?: string,
): ListWatch<T> {
  const api = guarded(kc.makeApiClient(k8s.CustomObjectsApi), 'custom');
  const selector = labelSelector ? { labelSelector } : {};
  return {
    list: async () => {
      const result = (
        namespace
          ? await api.listNamespacedCustomObject({
              group,
              version,
              namespace,
              plural: resourcePlural,
              ...selector,
            })
          : await api.listClusterCustomObject({ group, version, plural: resourcePlural, ...selector })
      ) as {
        items: T[];
        metadata: { resourceVersion: string };
      };
      return {
        items: result.items.map((item) => cacheable<T>(item)),
        resourceVersion: result.metadata.resourceVersion,
      };
    },
    watch: watchFrom(
      kc,
      watchPath(`/apis/${group}/${version}`, resourcePlural, namespace),
      (object) => cacheable<T>(object),
      labelSelector,
    ),
  };
}

/** Secrets or ConfigMaps, names only: the controller needs to know they changed, never to keep their data. */
export function referencedListWatch(
  kc: k8s.KubeConfig,
  resource: 'secrets' | 'configmaps',
  namespace: string | null,
  timeoutMs: number,
): ListWatch<ObjectMeta> {
  const strip = (o: unknown): ObjectMeta => {
    const m = (o as { metadata?: ObjectMeta['metadata'] }).metadata ?? {};
    return { metadata: { name: m.name, namespace: m.namespace, resourceVersion: m.resourceVersion } };
  };
  const path = watchPath('/api/v1', resource, namespace);
  const list = async () => {
    const result = await listMetadata(kc, path, timeoutMs);
    return { items: result.items.map(strip), resourceVersion: result.resourceVersion };
  };
  // The Watch reads the cluster and the request options from its config: this one asks for metadata.
  const metadataConfig = {
    getCurrentCluster: () => kc.getCurrentCluster(),
    applyToFetchOptions: (options: { headers?: Record<string, string> }) =>
      kc.applyToFetchOptions({ ...options, headers: { ...options.headers, Accept: metadataItem } }),
  } as unknown as k8s.KubeConfig;
  return { list, watch: watchFrom(metadataConfig, path, strip) };
}

export function leaseStore(kc: k8s.KubeConfig, namespace: string, name: string): LeaseStore {
  const api = guarded(kc.makeApiClient(k8s.CoordinationV1Api), 'coordination');
  const toRecord = (lease: k8s.V1Lease): LeaseRecord => ({
    holderIdentity: lease.spec?.holderIdentity ?? '',
    leaseDurationSeconds: lease.spec?.leaseDurationSeconds ?? 15,
    acquireTime: lease.spec?.acquireTime ? new Date(lease.spec.acquireTime).toISOString() : '',
    renewTime: lease.spec?.renewTime ? new Date(lease.spec.renewTime).toISOString() : '',
    leaseTransitions: lease.spec?.leaseTransitions ?? 0,
    ...(lease.metadata?.resourceVersion ? { resourceVersion: lease.metadata.resourceVersion } : {}),
  });
  // Lease times are MicroTime, which the API server parses with exactly six fractional
  // digits; client-node passes this type through unserialized, and a Date would go out
  // with toISOString's three, so the text is sent as it must be.
  const microTime = (iso: string) => iso.replace(/\.(\d{3})Z$/, '.$1000Z') as unknown as Date;
  const toLease = (record: LeaseRecord): k8s.V1Lease => ({
    metadata: {
      name,
      namespace,
      ...(record.resourceVersion ? { resourceVersion: record.resourceVersion } : {}),
    },
    spec: {
      holderIdentity: record.holderIdentity,
      leaseDurationSeconds: record.leaseDurationSeconds,
      ...(record.acquireTime ? { acquireTime: microTime(record.acquireTime) } : {}),
      renewTime: microTime(record.renewTime),
      leaseTransitions: record.leaseTransitions,
    },
  });
  return {
    get: async () => {
      try {
        return toRecord(await api.readNamespacedLease({ name, namespace }));
      } catch (err) {
        if (httpStatus(err) === 404) return null;
        throw err;
      }
    },
    create: async (record) => toRecord(await api.createNamespacedLease({ namespace, body: toLease(record) })),
    update: async (record) =>
      toRecord(await api.replaceNamespacedLease({ name, namespace, body: toLease(record) })),
  };
}
