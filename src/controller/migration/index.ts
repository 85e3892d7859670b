// The DatabaseMigration reconciler's public face: one pass over one resource, and the
// ports it is given (the cluster, the migrator, the caches the controller keeps).

export { approvedPlanAnnotation } from './approval.js';
export type { ReconcileResult } from './pass.js';
export type { ClusterPort, ReconcileDeps } from './ports.js';
export { reconcile } from './reconcile.js';
export type { WorkloadState } from './rollout.js';
export type { DriftCheck } from './schema-drift.js';
export { ChainCache } from './sources.js';
export { migratorForSpec } from './spec-migrator.js';
