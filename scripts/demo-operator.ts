import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { type EmbeddedServer, freePort } from '../src/cli/embedded-postgres.js';
import { binary, installCrds, kubectl, repoRoot, startCluster } from '../test/support/kube/cluster.js';

/**
 * The operator part of npm run demo: a local API server with the CRD, the controller as
 * a process, a DatabaseMigration going to Ready, its status, printer columns and metrics.
 */
export async function operatorDemo(server: EmbeddedServer, bin: string): Promise<void> {
  if (!existsSync(binary('kube-apiserver'))) {
    process.stdout.write(
      '\n(the operator demo needs the test cluster: run "npm run kube:assets" first, then npm run demo)\n',
    );
    return;
  }
  process.stdout.write(
    '\n== the operator: a local kube-apiserver, the DatabaseMigration CRD, the controller\n',
  );
  const admin = new pg.Client({ connectionString: server.url });
  await admin.connect();
  await admin.query('DROP DATABASE IF EXISTS revisor_operator_demo WITH (FORCE)');
  await admin.query('CREATE DATABASE revisor_operator_demo');
  await admin.end();
  const cluster = await startCluster();
  const port = await freePort();
  const controller = spawn(
    process.execPath,
    [bin, 'controller', '--namespaces', 'demo', '--metrics-addr', `127.0.0.1:${port}`],
    {
      env: { ...process.env, KUBECONFIG: cluster.kubeconfig, REVISOR_LOG_LEVEL: 'warn' },
      stdio: 'inherit',
    },
  );
  try {
    await installCrds(cluster.kubeconfig, join(repoRoot, 'deploy/crds'));
    await kubectl(cluster.kubeconfig, ['create', 'namespace', 'demo']);
    const manifest = {
      apiVersion: 'v1',
      kind: 'List',
      items: [
        {
          apiVersion: 'v1',
          kind: 'Secret',
          metadata: { annotations: { 'revisor.dev/allowed-migrations': '*' }, name: 'app-db' },
          stringData: { url: server.urlFor('revisor_operator_demo') },
        },
        {
          apiVersion: 'revisor.dev/v1alpha1',
          kind: 'DatabaseMigration',
          metadata: { name: 'app' },
          spec: { targetRevision: 'head', database: { urlSecretRef: { name: 'app-db', key: 'url' } } },
        },
      ],
    };
    process.stdout.write(
      '\n$ kubectl apply -f app.yaml   # a Secret with the URL and a DatabaseMigration to head\n',
    );
    process.stdout.write(
      await kubectl(cluster.kubeconfig, ['apply', '-n', 'demo', '-f', '-'], JSON.stringify(manifest)),
    );
    process.stdout.write('\n$ kubectl wait dbm/app --for=condition=Ready\n');
    process.stdout.write(
      await kubectl(cluster.kubeconfig, [
        'wait',
        '-n',
        'demo',
        'dbm/app',
        '--for=condition=Ready',
        '--timeout=60s',
      ]),
    );
    process.stdout.write('\n$ kubectl get dbm\n');
    process.stdout.write(await kubectl(cluster.kubeconfig, ['get', 'dbm', '-n', 'demo']));
    process.stdout.write("\n$ kubectl get dbm app -o jsonpath='{.status}'\n");
    const status = JSON.parse(
      await kubectl(cluster.kubeconfig, ['get', 'dbm', 'app', '-n', 'demo', '-o', 'jsonpath={.status}']),
    );
    process.stdout.write(`${JSON.stringify(status, null, 2)}\n`);
    process.stdout.write(`\n$ curl -s 127.0.0.1:${port}/metrics | grep ^revisor_\n`);
    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    process.stdout.write(
      `${metrics
        .split('\n')
        .filter((l) =>
          /^revisor_(migrations_applied|current_revision|pending|reconcile_total|leader)/.test(l),
        )
        .join('\n')}\n`,
    );
  } finally {
    controller.kill('SIGTERM');
    await new Promise((r) => controller.once('exit', r));
    await cluster.stop();
  }
}
