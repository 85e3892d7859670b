import type * as http from 'node:http';
import * as https from 'node:https';
import * as k8s from '@kubernetes/client-node';
import fetch, { type RequestInit } from 'node-fetch';
import { ApiServerError, guarded, httpStatus } from './http-status.js';
import { type JobState, jobLabels, jobNameLabel, type PodTermination } from './jobs/index.js';
import type { ClusterPort, WorkloadState } from './migration/index.js';
import { type DatabaseMigration, group, kind, plural, type Status, version } from './resource.js';
import type { SecretObject } from './secret-policy.js';
import { sameStatus } from './status-writer.js';

/** The Kubernetes side of the controller, on @kubernetes/client-node; nothing here decides anything. */

type AgentFactory = (cluster: k8s.Cluster | null, options: https.AgentOptions) => http.Agent;

/**
 * One keep-alive agent for every request of this kubeconfig. client-node 1.4 builds a new
 * https.Agent per request (createAgent), so each request paid a TCP and TLS handshake and
 * left a TLS context behind. createAgent is private in its types, so it is replaced on the
 * instance; the agent is made again only when the TLS material changes (a rotated client
 * certificate), and requests through a proxy keep client-node's own agents.
 */
export function shareAgents(kc: k8s.KubeConfig): k8s.KubeConfig {
  const instance = kc as unknown as { createAgent: AgentFactory };
  const original = instance.createAgent.bind(kc);
  let shared: { agent: http.Agent; parts: readonly unknown[] } | null = null;
  instance.createAgent = (cluster, options) => {
    if (cluster?.proxyUrl || cluster?.server.startsWith('http:')) return original(cluster, options);
    const { ca, cert, key, pfx, servername, rejectUnauthorized } = options;
    const parts = [cluster?.server, ca, cert, key, pfx, servername, rejectUnauthorized];
    // client-node hands new Buffers of the same certificates with every request: they are
    // compared by content (a memcmp of a few KB), not serialized and hashed each time.
    if (shared && parts.every((part, i) => sameMaterial(part, shared!.parts[i]))) return shared.agent;
    shared?.agent.destroy();
    shared = { agent: new https.Agent({ ...options, keepAlive: true, maxFreeSockets: 16 }), parts };
    return shared.agent;
  };
  return kc;
}

const sameMaterial = (a: unknown, b: unknown): boolean =>
  a === b || (Buffer.isBuffer(a) && Buffer.isBuffer(b) && a.equals(b));

interface RequestContextLike {
  getSignal(): AbortSignal | undefined;
  setSignal(signal: AbortSignal): void;
}

/**
 * Every request of the typed API clients ends within `ms`: without it a request to an API
 * server that accepted the connection and never answers holds its reconcile (and a worker)
 * forever. client-node 1.4 has no timeout option; its request context takes an AbortSignal,
 * set here where the kubeconfig authenticates each request. Watches do not pass through
 * here (the informer's watchdog bounds them).
 */
export function requestTimeouts(kc: k8s.KubeConfig, ms: number): k8s.KubeConfig {
  const instance = kc as unknown as {
    applySecurityAuthentication(context: RequestContextLike): Promise<void>;
  };
  const original = instance.applySecurityAuthentication.bind(kc);
  instance.applySecurityAuthentication = async (context) => {
    if (!context.getSignal()) context.setSignal(AbortSignal.timeout(ms));
    await original(context);
  };
  return kc;
}

export interface ObjectMeta {
  metadata: { name?: string; namespace?: string; resourceVersion?: string };
}

// The API server's metadata-only representation (what kubectl get --show-kind -o name asks
// for): the objects' data never crosses the wire, whatever the size of unrelated Secrets.
const metadataList = 'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1';
/** The same, for one object (a watch's events). */
export const metadataItem = 'application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1';

/**
 * The items of a list, metadata only. client-node's typed list calls cannot ask for this
 * representation, so the request is made with its own transport (node-fetch, with the
 * kubeconfig's agent and credentials).
 */
export async function listMetadata(
  kc: k8s.KubeConfig,
  path: string,
  timeoutMs: number,
): Promise<{ items: ObjectMeta[]; resourceVersion: string }> {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error('no current cluster in the kubeconfig');
  try {
    const init = await kc.applyToFetchOptions({ headers: { Accept: metadataList } });
    const response = await fetch(`${cluster.server}${path}`, {
      ...init,
      method: 'GET',
      signal: AbortSignal.timeout(timeoutMs),
    } as RequestInit);
    if (!response.ok) throw Object.assign(new Error(response.statusText), { code: response.status });
    const body = (await response.json()) as { items?: ObjectMeta[]; metadata?: { resourceVersion?: string } };
    return { items: body.items ?? [], resourceVersion: body.metadata?.resourceVersion ?? '' };
  } catch (err) {
    throw new ApiServerError(`list ${path.split('?')[0]}`, err);
  }
}

const decode = (data: Record<string, string> | undefined) =>
  Object.fromEntries(
    Object.entries(data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]),
  );

export class KubeCluster implements ClusterPort {
  readonly #core: k8s.CoreV1Api;
  readonly #custom: k8s.CustomObjectsApi;
  readonly #apps: k8s.AppsV1Api;
  readonly #batch: k8s.BatchV1Api;
  readonly #component: string;

  constructor(kc: k8s.KubeConfig, component = 'revisor-controller') {
    this.#batch = guarded(kc.makeApiClient(k8s.BatchV1Api), 'batch');
    this.#core = guarded(kc.makeApiClient(k8s.CoreV1Api), 'core');
    this.#custom = guarded(kc.makeApiClient(k8s.CustomObjectsApi), 'custom');
    this.#apps = guarded(kc.makeApiClient(k8s.AppsV1Api), 'apps');
    this.#component = component;
  }

  async secret(namespace: string, name: string): Promise<SecretObject | null> {
    try {
      const secret = await this.#core.readNamespacedSecret({ name, namespace });
      return { data: decode(secret.data), annotations: secret.metadata?.annotations ?? {} };
    } catch (err) {
      if (httpStatus(err) === 404) return null;
      throw err;
    }
  }

  async workload(
    namespace: string,
    kind: 'Deployment' | 'StatefulSet',
    name: string,
  ): Promise<WorkloadState | null> {
    try {
      const w =
        kind === 'Deployment'
          ? await this.#apps.readNamespacedDeployment({ name, namespace })
          : await this.#apps.readNamespacedStatefulSet({ name, namespace });
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
    } catch (err) {
      if (httpStatus(err) === 404) return null;
      throw err;
    }
  }

  async configMap(
    namespace: string,
    name: string,
  ): Promise<{ data: Record<string, string>; resourceVersion: string } | null> {
    try {
      const found = await this.#core.readNamespacedConfigMap({ name, namespace });
      return { data: found.data ?? {}, resourceVersion: found.metadata?.resourceVersion ?? '' };
    } catch (err) {
      if (httpStatus(err) === 404) return null;
      throw err;
    }
  }

  async job(namespace: string, name: string): Promise<JobState | null> {
    try {
      return jobState(await this.#batch.readNamespacedJob({ name, namespace }));
    } catch (err) {
      if (httpStatus(err) === 404) return null;
      throw err;
    }
  }

  async createJob(job: k8s.V1Job): Promise<void> {
    try {
      await this.#batch.createNamespacedJob({ namespace: job.metadata!.namespace!, body: job });
    } catch (err) {
      if (httpStatus(err) !== 409) throw err;
    }
  }

  async activeJobs(namespace: string, database: string): Promise<string[]> {
    const list = await this.#batch.listNamespacedJob({
      namespace,
      labelSelector: `${jobLabels.database}=${database}`,
    });
    return list.items.filter((j) => jobState(j).phase === 'Active').map((j) => j.metadata?.name ?? '');
  }

  async termination(namespace: string, job: string): Promise<PodTermination | null> {
    const pods = await this.#core.listNamespacedPod({ namespace, labelSelector: `${jobNameLabel}=${job}` });
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
    const target = { group, version, namespace, plural: resourcePlural, name };
    let latest = resource;
    for (let attempt = 0; ; attempt++) {
      try {
        return (await this.#custom.replaceNamespacedCustomObjectStatus({
          ...target,
          body: { ...latest, status },
        })) as T;
      } catch (err) {
        if (httpStatus(err) !== 409 || attempt >= 10) throw err;
        const stored = (await this.#custom.getNamespacedCustomObject(target)) as T & { status?: unknown };
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
    const now = new Date();
    const { namespace, name, uid, resourceVersion } = resource.metadata;
    await this.#core.createNamespacedEvent({
      namespace,
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
