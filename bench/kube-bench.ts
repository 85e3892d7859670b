import { execFile, spawn } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import * as k8s from '@kubernetes/client-node';
import { freePort } from '../src/cli/embedded-postgres.js';
import { binary, kubectl, repoRoot } from '../test/support/kube/cluster.js';

/** What bench:controller and bench:fleet share: the controller as the chart runs it, and bulk creation. */

export const revisorBin = join(repoRoot, 'bin/revisor.js');

/**
 * NODE_OPTIONS and --max-concurrent as the chart gives the controller: the benches measure
 * the process it deploys.
 */
export async function chartController(): Promise<{ nodeOptions: string; maxConcurrent: string }> {
  const { stdout } = await promisify(execFile)(binary('helm'), [
    'template',
    'bench',
    join(repoRoot, 'deploy/helm/revisor'),
    '--show-only',
    'templates/deployment.yaml',
  ]);
  const [deployment] = k8s.loadAllYaml(stdout) as k8s.V1Deployment[];
  const container = deployment?.spec?.template.spec?.containers[0];
  const maxConcurrent = (container?.args ?? [])
    .find((a) => a.startsWith('--max-concurrent='))
    ?.slice('--max-concurrent='.length);
  if (!maxConcurrent) throw new Error('the chart gives the controller no --max-concurrent');
  return {
    nodeOptions: container?.env?.find((e) => e.name === 'NODE_OPTIONS')?.value ?? '',
    maxConcurrent,
  };
}

/** kubectl create, not apply: apply would copy each object into an annotation (256 KB at most). */
export async function createInBatches(kubeconfig: string, namespace: string, items: object[], batch: number) {
  for (let i = 0; i < items.length; i += batch) {
    const list = { apiVersion: 'v1', kind: 'List', items: items.slice(i, i + batch) };
    await kubectl(kubeconfig, ['create', '-n', namespace, '-f', '-'], JSON.stringify(list));
  }
}

/** `revisor controller` on one namespace, its logs discarded; the caller kills it. */
export async function spawnController(
  kubeconfig: string,
  namespace: string,
  args: string[],
  nodeOptions: string,
) {
  const port = await freePort();
  const child = spawn(
    process.execPath,
    [revisorBin, 'controller', '--namespaces', namespace, '--metrics-addr', `127.0.0.1:${port}`, ...args],
    {
      // BENCH_NODE_OPTIONS adds to the chart's (--cpu-prof --cpu-prof-dir=… to profile the controller).
      env: {
        ...process.env,
        KUBECONFIG: kubeconfig,
        REVISOR_LOG_LEVEL: 'warn',
        NODE_OPTIONS: `${nodeOptions} ${process.env['BENCH_NODE_OPTIONS'] ?? ''}`.trim(),
      },
      stdio: 'ignore',
    },
  );
  return { child, port, metricsUrl: `http://127.0.0.1:${port}/metrics` };
}
