const part = encodeURIComponent;

/** A resource's path in one namespace, or (namespace null) its collection across all of them. */
const namespaced = (prefix: string, resource: string) => (namespace: string | null, name?: string) =>
  namespace === null
    ? `${prefix}/${resource}`
    : `${prefix}/namespaces/${part(namespace)}/${resource}${name === undefined ? '' : `/${part(name)}`}`;

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
  custom: (group: string, version: string, plural: string) => namespaced(`/apis/${group}/${version}`, plural),
} as const;
