import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { type EmbeddedServer, freePort } from '../src/cli/embedded-postgres.js';
import { binary, installCrds, kubectl, repoRoot, startCluster } from '../test/support/kube/cluster.js';

const conditionsPath =
  '{range .status.conditions[*]}{.type}{"\\t"}{.status}{"\\t"}{.reason}{"\\t"}{.message}{"\\n"}{end}';

/**
 * The operator part of npm run demo: a local API server with the CRD, the controller as
 * a process, a DatabaseMigration going to Ready, its conditions, Events and metrics.
 * The API server, etcd and kubectl are built from Go modules on first use.
 */
export async function operatorDemo(
  server: EmbeddedServer,
  bin: string,
  env: NodeJS.ProcessEnv,
): Promise<'ran' | 'failed'> {
  process.stdout.write(
    '\n== the operator: a local kube-apiserver and etcd, the DatabaseMigration CRD, the controller\n',
  );
  if (!(['kube-apiserver', 'kubectl', 'etcd'] as const).every((name) => existsSync(binary(name)))) {
    process.stdout.write(
      'first run: building kube-apiserver, kubectl and etcd from Go modules into .cache/kube/bin\n' +
        '(about 6 minutes on 2 cores, plus a Go toolchain from the Go module proxy when none is installed;\n' +
        'later runs reuse them)\n',
    );
    const build = spawnSync('bash', [join(repoRoot, 'scripts/kube-assets.sh'), 'apiserver'], {
      stdio: 'inherit',
    });
    if (build.status !== 0) {
      process.stderr.write(
        `demo: building the local API server failed (exit ${build.status}); the CLI part above ran. ` +
          'Run "npm run kube:assets" to see why, then npm run demo again.\n',
      );
      return 'failed';
    }
  }
  const admin = new pg.Client({ connectionString: server.url });
  await admin.connect();
  await admin.query('DROP DATABASE IF EXISTS revisor_operator_demo WITH (FORCE)');
  await admin.query('CREATE DATABASE revisor_operator_demo');
  await admin.end();
  const cluster = await startCluster();
  let controller: ReturnType<typeof spawn> | undefined;
  try {
    await installCrds(cluster.kubeconfig, join(repoRoot, 'deploy/crds'));
    await kubectl(cluster.kubeconfig, ['create', 'namespace', 'demo']);
    const port = await freePort();
    process.stdout.write(`\n$ revisor controller --namespaces demo --metrics-addr 127.0.0.1:${port} &\n`);
    controller = spawn(
      process.execPath,
      [bin, 'controller', '--namespaces', 'demo', '--metrics-addr', `127.0.0.1:${port}`],
      { env: { ...env, KUBECONFIG: cluster.kubeconfig, REVISOR_LOG_LEVEL: 'warn' }, stdio: 'inherit' },
    );
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
    const show = async (shown: string, args: string[], input?: string) => {
      process.stdout.write(`\n$ ${shown}\n`);
      process.stdout.write(await kubectl(cluster.kubeconfig, args, input));
    };
    await show(
      'kubectl apply -n demo -f app.yaml   # a Secret with the URL and a DatabaseMigration to head',
      ['apply', '-n', 'demo', '-f', '-'],
      JSON.stringify(manifest),
    );
    await show('kubectl wait -n demo dbm/app --for=condition=Ready', [
      'wait',
      '-n',
      'demo',
      'dbm/app',
      '--for=condition=Ready',
      '--timeout=60s',
    ]);
    await show('kubectl get -n demo dbm', ['get', 'dbm', '-n', 'demo']);
    await show(`kubectl get -n demo dbm app -o jsonpath='${conditionsPath}'`, [
      'get',
      'dbm',
      'app',
      '-n',
      'demo',
      '-o',
      `jsonpath=${conditionsPath}`,
    ]);
    await show('kubectl events -n demo --for dbm/app', ['events', '-n', 'demo', '--for', 'dbm/app']);
    process.stdout.write(
      `\n$ curl -s 127.0.0.1:${port}/metrics | grep -E '^revisor_(migrations_applied|current_revision|pending)'\n`,
    );
    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    process.stdout.write(
      `${metrics
        .split('\n')
        .filter((l) => /^revisor_(migrations_applied|current_revision|pending)/.test(l))
        .join('\n')}\n`,
    );
    return 'ran';
  } finally {
    if (controller && controller.exitCode === null) {
      const child = controller;
      const exited = new Promise((resolveExit) => child.once('exit', resolveExit));
      child.kill('SIGTERM');
      await exited;
    }
    await cluster.stop();
  }
}
