import { Lru } from '../../src/controller/lru.js';
import { ControllerMetrics } from '../../src/controller/metrics.js';
import type { ClusterPort, ReconcileDeps } from '../../src/controller/migration/index.js';
import type { WorkloadState } from '../../src/controller/migration/rollout.js';
import { ChainCache } from '../../src/controller/migration/sources.js';
import { migratorForSpec } from '../../src/controller/migration/spec-migrator.js';
import type { DatabaseMigration, Status } from '../../src/controller/resource.js';
import type { SecretObject } from '../../src/controller/secret-policy.js';
import { RevisionGraph } from '../../src/migrator/chain/graph.js';
import { loadMigrations } from '../../src/migrator/chain/loader.js';
import { embeddedMigrationsDir } from '../../src/migrator/embedded-chain.js';

/** The narrow cluster interface, in memory: what the reconciler wrote is what the test reads. */
export class FakeCluster implements ClusterPort {
  secrets = new Map<string, SecretObject>();
  configMaps = new Map<string, Record<string, string>>();
  workloads = new Map<string, WorkloadState>();
  writes: Status[] = [];
  reads = 0;
  events: { type: string; reason: string; message: string }[] = [];
  async secret(namespace: string, name: string) {
    return this.secrets.get(`${namespace}/${name}`) ?? null;
  }
  async configMap(namespace: string, name: string) {
    const data = this.configMaps.get(`${namespace}/${name}`);
    // Each read a new version: the chain cache must not serve a changed ConfigMap.
    return data ? { data, resourceVersion: String(++this.reads) } : null;
  }
  // The Job runner is tested against the real API server (test/e2e/job-runner.test.ts).
  async job(): Promise<null> {
    throw new Error('no Jobs in this test');
  }
  async createJob(): Promise<void> {
    throw new Error('no Jobs in this test');
  }
  async activeJobs(): Promise<string[]> {
    throw new Error('no Jobs in this test');
  }
  async termination(): Promise<null> {
    throw new Error('no Jobs in this test');
  }
  async workload(namespace: string, kind: string, name: string) {
    return this.workloads.get(`${namespace}/${kind}/${name}`) ?? null;
  }
  async writeStatus(resource: DatabaseMigration, status: Status) {
    this.writes.push(structuredClone(status));
    const rv = String(Number(resource.metadata.resourceVersion ?? '0') + 1);
    return {
      ...resource,
      metadata: { ...resource.metadata, resourceVersion: rv },
      status: structuredClone(status),
    };
  }
  async event(_r: DatabaseMigration, type: 'Normal' | 'Warning', reason: string, message: string) {
    this.events.push({ type, reason, message });
  }
}

const embedded = async () => RevisionGraph.build(await loadMigrations(embeddedMigrationsDir));

export function deps(cluster: FakeCluster): ReconcileDeps {
  return {
    cluster,
    embeddedGraph: embedded,
    chains: new ChainCache(16),
    driftReadings: new Lru(16),
    observeDatabase: () => Promise.reject(new Error('no Jobs in this test')),
    traceEnv: () => ({}),
    openMigrator: (connection, graph, spec, events) =>
      migratorForSpec(spec, connection, graph, events, { executedBy: 'reconcile-test' }),
    metrics: new ControllerMetrics(),
    connectTimeoutMs: 5000,
    resyncMs: 60_000,
    now: () => new Date('2026-11-24T12:00:00Z'),
  };
}
