import { randomBytes } from 'node:crypto';
import * as k8s from '@kubernetes/client-node';
import { inject, onTestFinished } from 'vitest';
import { ApiClient, kubeconfigAccess } from '../../../src/controller/api/index.js';
import { kubectl } from './cluster.js';

export const kubeconfigPath = () => inject('kubeconfig');

/** The controller's own API client, as the cluster admin. */
export async function adminApi(): Promise<ApiClient> {
  return new ApiClient(await kubeconfigAccess([kubeconfigPath()]), 10_000);
}

export function adminConfig(): k8s.KubeConfig {
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(kubeconfigPath());
  return kc;
}

/** kubectl as the cluster admin. */
export const adminKubectl = (args: readonly string[], input?: string) =>
  kubectl(kubeconfigPath(), args, input);

/** A namespace of this test's own, deleted when it ends. */
export async function testNamespace(): Promise<string> {
  const name = `t-${randomBytes(5).toString('hex')}`;
  await adminKubectl(['create', 'namespace', name]);
  onTestFinished(async () => {
    await adminKubectl(['delete', 'namespace', name, '--wait=false']).catch(() => undefined);
  });
  return name;
}

/** A client that authenticates as a ServiceAccount, with a token from the TokenRequest API. */
export async function serviceAccountConfig(namespace: string, name: string): Promise<k8s.KubeConfig> {
  const token = (await adminKubectl(['create', 'token', name, '-n', namespace, '--duration=1h'])).trim();
  const admin = adminConfig();
  const cluster = admin.getCurrentCluster()!;
  const kc = new k8s.KubeConfig();
  kc.loadFromOptions({
    clusters: [cluster],
    users: [{ name, token }],
    contexts: [{ name, cluster: cluster.name, user: name, namespace }],
    currentContext: name,
  });
  return kc;
}
