// The DatabaseMigrationSet reconciler's public face.
export { KubeSetCluster } from './set-kube.js';
export { reconcileSet } from './set-reconcile.js';
