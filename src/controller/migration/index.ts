// The DatabaseMigration reconciler's public face: one pass over one resource, and the
// ports it is given (the cluster, the migrator, the caches the controller keeps).

export type { ReconcileResult } from './pass.js';
export type { ClusterPort, ReconcileDeps } from './ports.js';
export { reconcile } from './reconcile.js';
