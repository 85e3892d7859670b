import type * as k8s from '@kubernetes/client-node';
import { type ApiClient, apiPaths } from './api/index.js';
import { httpStatus } from './http-status.js';
import { type JobState, jobLabels, jobNameLabel, type PodTermination } from './jobs/index.js';
import type { ClusterPort, WorkloadState } from './migration/index.js';
import { type DatabaseMigration, group, kind, plural, type Status, version } from './resource.js';
import type { SecretObject } from './secret-policy.js';
import { sameStatus } from './status-writer.js';

/** The Kubernetes side of the controller; nothing here decides anything. */

export interface ObjectMeta {
  metadata: { name?: string; namespace?: string; resourceVersion?: string };
}

// The API server's metadata-only representation (what kubectl get --show-kind -o name asks
// for): the objects' data never crosses the wire, whatever the size of unrelated Secrets.
const metadataList = 'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1';
/** The same, for one object (a watch's events). */
export const metadataItem = 'application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1';

/** The items of a list, metadata only. */
export async function listMetadata(
  api: ApiClient,
  path: string,
  query: Record<string, string> = {},
): Promise<{ items: ObjectMeta[]; resourceVersion: string }> {
  const body = await api.request<{ items?: ObjectMeta[]; metadata?: { resourceVersion?: string } }>(
    'GET',
    path,
    {
      query,
      accept: metadataList,
    },
  );
  return { items: body.items ?? [], resourceVersion: body.metadata?.resourceVersion ?? '' };
}

const decode = (data: Record<string, string> | undefined) =>
  Object.fromEntries(
    Object.entries(data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]),
  );

export class KubeCluster implements ClusterPort {
  readonly #api: ApiClient;
  readonly #component: string;

  constructor(api: ApiClient, component = 'revisor-controller') {
    this.#api = api;
    this.#component = component;
  }

  /**
   * Read from the API server's watch cache (resourceVersion=0): every pass, each resync of a
   * Ready resource included, reads its Secrets, and a read without a version is a quorum
   * read from etcd, about three times the API server's CPU and twice the wait
   * (docs/operator.md). The cache trails etcd by moments, so a Secret it does not hold yet
   * (created just before the resource that names it) is asked of etcd before it is called
   * missing.
   */
  async secret(namespace: string, name: string): Promise<SecretObject | null> {
    const path = apiPaths.secrets(namespace, name);
    const secret =
      (await this.#api.find<k8s.V1Secret>(path, { query: { resourceVersion: '0' } })) ??
      (await this.#api.find<k8s.V1Secret>(path));
    return secret && { data: decode(secret.data), annotations: secret.metadata?.annotations ?? {} };
  }

  async workload(
    namespace: string,
    kind: 'Deployment' | 'StatefulSet',
    name: string,
  ): Promise<WorkloadState | null> {
    const path =
      kind === 'Deployment' ? apiPaths.deployments(namespace, name) : apiPaths.statefulSets(namespace, name);
    const w = await this.#api.find<k8s.V1Deployment | k8s.V1StatefulSet>(path);
    if (!w) return null;
    const status = w.status ?? {};
    return {
      generation: w.metadata?.generation ?? 0,
      observedGeneration: status.observedGeneration ?? 0,
      desired: w.spec?.replicas ?? 1,
      current: status.replicas ?? 0,
      updated: status.updatedReplicas ?? 0,
      available: status.availableReplicas ?? 0,
      images: (w.spec?.template.spec?.containers ?? []).map((c) => c.image ?? ''),
    };
  }

  async configMap(
    namespace: string,
    name: string,
  ): Promise<{ data: Record<string, string>; resourceVersion: string } | null> {
    const found = await this.#api.find<k8s.V1ConfigMap>(apiPaths.configMaps(namespace, name));
    return found && { data: found.data ?? {}, resourceVersion: found.metadata?.resourceVersion ?? '' };
  }

  async job(namespace: string, name: string): Promise<JobState | null> {
    const found = await this.#api.find<k8s.V1Job>(apiPaths.jobs(namespace, name));
    return found && jobState(found);
  }

  async createJob(job: k8s.V1Job): Promise<void> {
    try {
      await this.#api.request('POST', apiPaths.jobs(job.metadata!.namespace!), { body: job });
    } catch (err) {
      if (httpStatus(err) !== 409) throw err;
    }
  }

  async activeJobs(namespace: string, database: string): Promise<string[]> {
    const list = await this.#api.request<k8s.V1JobList>('GET', apiPaths.jobs(namespace), {
      query: { labelSelector: `${jobLabels.database}=${database}` },
    });
    return list.items.filter((j) => jobState(j).phase === 'Active').map((j) => j.metadata?.name ?? '');
  }

  async termination(namespace: string, job: string): Promise<PodTermination | null> {
    const pods = await this.#api.request<k8s.V1PodList>('GET', apiPaths.pods(namespace), {
      query: { labelSelector: `${jobNameLabel}=${job}` },
    });
    for (const pod of pods.items) {
      const terminated = pod.status?.containerStatuses?.find((c) => c.name === 'migrate')?.state?.terminated;
      if (terminated) return { exitCode: terminated.exitCode, message: terminated.message ?? '' };
    }
    return null;
  }

  /**
   * PUT to /status with the resourceVersion last seen. On 409 the object is read again: when
   * only its spec or metadata moved, the write is repeated on it. When its status moved as
   * well, this write was computed from a status a newer write has replaced (the informer had
   * not yet delivered that write when this reconcile read its cache); repeating it would
   * undo that write, so the 409 goes back to the work queue, whose retry reads what is stored.
   */
  writeStatus(resource: DatabaseMigration, status: Status): Promise<DatabaseMigration> {
    return this.writeStatusOf(plural, resource, status);
  }

  async writeStatusOf<T extends { metadata: { namespace: string; name: string } }>(
    resourcePlural: string,
    resource: T,
    status: unknown,
  ): Promise<T> {
    const { namespace, name } = resource.metadata;
    const path = apiPaths.custom(group, version, resourcePlural)(namespace, name);
    let latest = resource;
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.#api.request<T>('PUT', `${path}/status`, { body: { ...latest, status } });
      } catch (err) {
        if (httpStatus(err) !== 409 || attempt >= 10) throw err;
        const stored = await this.#api.request<T & { status?: unknown }>('GET', path);
        if (!sameStatus(stored.status, (latest as { status?: unknown }).status)) throw err;
        latest = stored;
      }
    }
  }

  async event(
    resource: { metadata: DatabaseMigration['metadata'] },
    type: 'Normal' | 'Warning',
    reason: string,
    message: string,
    involvedKind: string = kind,
  ): Promise<void> {
    const now = new Date().toISOString();
    const { namespace, name, uid, resourceVersion } = resource.metadata;
    await this.#api.request('POST', apiPaths.events(namespace), {
      body: {
        metadata: { generateName: `${name}.`, namespace },
        involvedObject: {
          apiVersion: `${group}/${version}`,
          kind: involvedKind,
          name,
          namespace,
          uid,
          resourceVersion,
        },
        reason,
        message: message.slice(0, 1024),
        type,
        source: { component: this.#component },
        firstTimestamp: now,
        lastTimestamp: now,
        count: 1,
        reportingComponent: this.#component,
      },
    });
  }
}

/** A Job's phase from its conditions: Complete or Failed once the Job controller has decided. */
function jobState(job: k8s.V1Job): JobState {
  const condition = (type: string) =>
    job.status?.conditions?.find((c) => c.type === type && c.status === 'True');
  if (condition('Complete')) return { phase: 'Succeeded' };
  const failed = condition('Failed');
  if (failed) return { phase: 'Failed', ...(failed.reason ? { failureReason: failed.reason } : {}) };
  return { phase: 'Active' };
}
