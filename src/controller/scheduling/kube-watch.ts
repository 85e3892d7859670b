import type * as k8s from '@kubernetes/client-node';
import { type ApiClient, apiPaths, type Query } from '../api/index.js';
import { listMetadata, metadataItem, type ObjectMeta } from '../kube.js';
import { type DatabaseMigration, group, plural, version } from '../resource.js';
import type { ListWatch, Meta } from './informer.js';
import type { LeaseRecord, LeaseStore } from './leader.js';

/** What the informers and the leader lease read from the API server. */

function watchFrom<T>(
  api: ApiClient,
  path: string,
  map: (o: unknown) => T,
  query: Query = {},
  accept?: string,
) {
  return (
    resourceVersion: string,
    onEvent: (type: string, object: unknown) => void,
    onDone: (err: unknown) => void,
  ) =>
    api.watch(
      path,
      { ...query, resourceVersion, allowWatchBookmarks: true, timeoutSeconds: 300 },
      (type, object) => onEvent(type, type === 'ERROR' || type === 'BOOKMARK' ? object : map(object)),
      onDone,
      accept,
    );
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
  api: ApiClient,
  namespace: string | null,
  resourcePlural: string = plural,
  labelSelector?: string,
): ListWatch<T> {
  const path = apiPaths.custom(group, version, resourcePlural)(namespace);
  const query = labelSelector ? { labelSelector } : {};
  return {
    list: async () => {
      const result = await api.request<{ items: T[]; metadata: { resourceVersion: string } }>('GET', path, {
        query,
      });
      return {
        items: result.items.map((item) => cacheable<T>(item)),
        resourceVersion: result.metadata.resourceVersion,
      };
    },
    watch: watchFrom(api, path, (object) => cacheable<T>(object), query),
  };
}

/** Secrets or ConfigMaps, names only: the controller needs to know they changed, never to keep their data. */
export function referencedListWatch(
  api: ApiClient,
  resource: 'secrets' | 'configmaps',
  namespace: string | null,
): ListWatch<ObjectMeta> {
  const strip = (o: unknown): ObjectMeta => {
    const m = (o as { metadata?: ObjectMeta['metadata'] }).metadata ?? {};
    return { metadata: { name: m.name, namespace: m.namespace, resourceVersion: m.resourceVersion } };
  };
  const path = (resource === 'secrets' ? apiPaths.secrets : apiPaths.configMaps)(namespace);
  const list = async () => {
    const result = await listMetadata(api, path);
    return { items: result.items.map(strip), resourceVersion: result.resourceVersion };
  };
  return { list, watch: watchFrom(api, path, strip, {}, metadataItem) };
}

export function leaseStore(api: ApiClient, namespace: string, name: string): LeaseStore {
  const toRecord = (lease: k8s.V1Lease): LeaseRecord => ({
    holderIdentity: lease.spec?.holderIdentity ?? '',
    leaseDurationSeconds: lease.spec?.leaseDurationSeconds ?? 15,
    acquireTime: lease.spec?.acquireTime ? new Date(lease.spec.acquireTime).toISOString() : '',
    renewTime: lease.spec?.renewTime ? new Date(lease.spec.renewTime).toISOString() : '',
    leaseTransitions: lease.spec?.leaseTransitions ?? 0,
    ...(lease.metadata?.resourceVersion ? { resourceVersion: lease.metadata.resourceVersion } : {}),
  });
  // Lease times are MicroTime, which the API server parses with exactly six fractional
  // digits; toISOString gives three.
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
      const lease = await api.find<k8s.V1Lease>(apiPaths.leases(namespace, name));
      return lease && toRecord(lease);
    },
    create: async (record) =>
      toRecord(await api.request<k8s.V1Lease>('POST', apiPaths.leases(namespace), { body: toLease(record) })),
    update: async (record) =>
      toRecord(
        await api.request<k8s.V1Lease>('PUT', apiPaths.leases(namespace, name), { body: toLease(record) }),
      ),
  };
}
