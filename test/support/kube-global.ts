import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { installCrds, repoRoot, startCluster } from './kube/cluster.js';

declare module 'vitest' {
  export interface ProvidedContext {
    kubeconfig: string;
    kubeServer: string;
  }
}

/** The end-to-end tier's cluster: one per run, its CRDs installed and Established. */
export default async function setup(project: TestProject) {
  const cluster = await startCluster();
  try {
    await installCrds(cluster.kubeconfig, join(repoRoot, 'deploy/crds'));
    await installCrds(cluster.kubeconfig, join(repoRoot, 'test/fixtures/crds'));
  } catch (err) {
    await cluster.stop();
    throw err;
  }
  project.provide('kubeconfig', cluster.kubeconfig);
  project.provide('kubeServer', cluster.server);
  return cluster.stop;
}
