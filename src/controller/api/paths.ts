const part = encodeURIComponent;

const namespaced = (prefix: string, resource: string) => (namespace: string, name?: string) =>
  `${prefix}/namespaces/${part(namespace)}/${resource}${name === undefined ? '' : `/${part(name)}`}`;

/** The REST paths of what the controller reads and writes. */
export const apiPaths = {
  secrets: namespaced('/api/v1', 'secrets'),
  configMaps: namespaced('/api/v1', 'configmaps'),
  events: namespaced('/api/v1', 'events'),
  pods: namespaced('/api/v1', 'pods'),
  deployments: namespaced('/apis/apps/v1', 'deployments'),
  statefulSets: namespaced('/apis/apps/v1', 'statefulsets'),
  jobs: namespaced('/apis/batch/v1', 'jobs'),
  leases: namespaced('/apis/coordination.k8s.io/v1', 'leases'),
  /** A custom resource's collection in one namespace, or every namespace's (namespace null). */
  custom: (group: string, version: string, plural: string) => (namespace: string | null, name?: string) =>
    namespace === null
      ? `/apis/${group}/${version}/${plural}`
      : namespaced(`/apis/${group}/${version}`, plural)(namespace, name),
  /** Secrets or ConfigMaps in one namespace, or every namespace's. */
  core: (resource: 'secrets' | 'configmaps', namespace: string | null) =>
    namespace === null ? `/api/v1/${resource}` : namespaced('/api/v1', resource)(namespace),
} as const;
