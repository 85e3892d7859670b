import { type ApiClient, apiPaths } from '../api/index.js';
import { httpStatus } from '../http-status.js';
import { type KubeCluster, listMetadata } from '../kube.js';
import { type DatabaseMigration, group, plural, version } from '../resource.js';
import { type DatabaseMigrationSet, type SetStatus, setKind, setPlural } from '../set-resource.js';
import type { SetClusterPort } from './set-reconcile.js';

/** The Kubernetes side of DatabaseMigrationSets: Secret names by selector, children, status, Events. */
export class KubeSetCluster implements SetClusterPort {
  readonly #api: ApiClient;
  readonly #cluster: KubeCluster;
  readonly #migrations = apiPaths.custom(group, version, plural);

  constructor(api: ApiClient, cluster: KubeCluster) {
    this.#api = api;
    this.#cluster = cluster;
  }

  /** Names only (metadata representation): the Secrets' data never reaches the controller here. */
  async secretNames(namespace: string, labelSelector: string): Promise<string[]> {
    const { items } = await listMetadata(this.#api, apiPaths.secrets(namespace), { labelSelector });
    return items.map((i) => i.metadata.name ?? '').filter(Boolean);
  }

  async createMigration(child: DatabaseMigration): Promise<void> {
    try {
      await this.#api.request('POST', this.#migrations(child.metadata.namespace), { body: child });
    } catch (err) {
      // Created by the previous reconcile, not yet in the informer's cache.
      if (httpStatus(err) !== 409) throw err;
    }
  }

  /** Replaces the spec; a conflict (the child changed since it was read) is left to the next reconcile. */
  async replaceMigrationSpec(child: DatabaseMigration, spec: Record<string, unknown>): Promise<boolean> {
    const { namespace, name } = child.metadata;
    try {
      await this.#api.request('PUT', this.#migrations(namespace, name), {
        body: {
          apiVersion: `${group}/${version}`,
          kind: 'DatabaseMigration',
          metadata: child.metadata,
          spec,
        },
      });
      return true;
    } catch (err) {
      if (httpStatus(err) === 409) return false;
      throw err;
    }
  }

  async deleteMigration(namespace: string, name: string): Promise<boolean> {
    try {
      await this.#api.request('DELETE', this.#migrations(namespace, name));
      return true;
    } catch (err) {
      if (httpStatus(err) !== 404) throw err;
      return false;
    }
  }

  async writeSetStatus(set: DatabaseMigrationSet, status: SetStatus): Promise<void> {
    await this.#cluster.writeStatusOf(setPlural, set, status);
  }

  setEvent(set: DatabaseMigrationSet, type: 'Normal' | 'Warning', reason: string, message: string) {
    return this.#cluster.event(set, type, reason, message, setKind);
  }
}
