import { execFile as execFileCb } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { promisify } from 'node:util';
import * as k8s from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';
import { connect, createTestDatabase, versionRows } from '../support/db.js';
import { adminConfig, adminKubectl, testNamespace } from '../support/kube/clients.js';
import { binary, repoRoot } from '../support/kube/cluster.js';

const execFile = promisify(execFileCb);
const chart = join(repoRoot, 'deploy/helm/revisor');
const helm = async (args: string[]) =>
  (await execFile(binary('helm'), args, { maxBuffer: 16 * 1024 * 1024 })).stdout;
const release = () => `r${randomBytes(3).toString('hex')}`;

/** The manifests of a rendering, as parsed objects. */
async function render(name: string, namespace: string, sets: string[]): Promise<Manifest[]> {
  const yaml = await helm([
    'template',
    name,
    chart,
    '--namespace',
    namespace,
    ...sets.flatMap((s) => ['--set', s]),
  ]);
  return k8s.loadAllYaml(yaml).filter(Boolean) as Manifest[];
}
type Manifest = { kind: string; metadata: Record<string, unknown>; [k: string]: unknown };

/** What helm printed when it refused (it explains on stdout). */
const helmRefusal = (args: string[]) =>
  helm(args).then(
    () => 'accepted',
    (err: { stdout?: string; stderr?: string }) => `${err.stdout ?? ''}${err.stderr ?? ''}`,
  );

/** Applies a rendered chart, then asks kubectl auth can-i as the release's controller ServiceAccount. */
async function expectGrants(
  yaml: string,
  release: string,
  namespace: string,
  expected: { allowed: string[][]; denied: string[][] },
) {
  await adminKubectl(['apply', '-f', '-'], yaml);
  const token = (await adminKubectl(['create', 'token', `${release}-revisor`, '-n', namespace])).trim();
  const can = canI(token);
  for (const allowed of expected.allowed) expect(await can(allowed), allowed.join(' ')).toBe('yes');
  for (const denied of expected.denied) expect(await can(denied), denied.join(' ')).toBe('no');
}

/** kubectl auth can-i as the ServiceAccount whose token this is. */
const canI = (token: string) => async (args: string[]) => {
  const cluster = adminConfig().getCurrentCluster()!;
  const { stdout } = await execFile(binary('kubectl'), [
    `--server=${cluster.server}`,
    `--token=${token}`,
    '--insecure-skip-tls-verify=true',
    'auth',
    'can-i',
    ...args,
  ]).catch((err: { stdout: string }) => err);
  return stdout.trim();
};

describe('the Helm chart', () => {
  it('passes helm lint with the default and non-default values', async () => {
    for (const sets of [
      [],
      [
        'hook.enabled=true',
        'hook.database.secretName=db',
        'operator.replicas=2',
        'metrics.serviceMonitor.enabled=true',
        'metrics.prometheusRule.enabled=true',
        'metrics.grafanaDashboard.enabled=true',
      ],
    ]) {
      const out = await helm(['lint', chart, ...sets.flatMap((s) => ['--set', s])]);
      expect(out).toContain('1 chart(s) linted, 0 chart(s) failed');
    }
    expect(await helmRefusal(['lint', chart, '--set', 'operator.replicas=-1'])).toMatch(/replicas.*minimum/s);
    expect(await helmRefusal(['lint', chart, '--set', 'hook.target=not a revision'])).toMatch(
      /target.*pattern/s,
    );
    expect(
      await helmRefusal([
        'template',
        'x',
        chart,
        '--set',
        'hook.enabled=true',
        '--set',
        'hook.database.createSecret=true',
      ]),
    ).toContain('hook.database.url is required');
  });

  it('renders value sets whose every manifest the API server accepts', async () => {
    const ns = await testNamespace();
    const watched = await testNamespace();
    const valueSets = [
      [],
      [
        'operator.replicas=3',
        `operator.watchNamespaces={${watched}}`,
        'operator.selector=revisor.dev/shard=payments',
        'metrics.serviceMonitor.enabled=true',
        'metrics.prometheusRule.enabled=true',
        'metrics.grafanaDashboard.enabled=true',
      ],
      [
        'operator.enabled=false',
        'hook.enabled=true',
        'hook.database.createSecret=true',
        'hook.database.url=postgres://u:p@db/app',
      ],
      ['hook.enabled=true', 'hook.argocd=true', 'hook.database.secretName=db', 'hook.target=972fc63ffb69'],
    ];
    for (const sets of valueSets) {
      const name = release();
      const yaml = await helm([
        'template',
        name,
        chart,
        '--namespace',
        ns,
        ...sets.flatMap((s) => ['--set', s]),
      ]);
      const out = await adminKubectl(['apply', '--dry-run=server', '-f', '-'], yaml);
      expect(out).toMatch(/\(server dry run\)/);
      expect(out).not.toMatch(/error/i);
    }
    const sharded = await render(release(), ns, valueSets[1]!);
    const deployment = sharded.find((o) => o.kind === 'Deployment') as unknown as k8s.V1Deployment;
    expect(deployment.spec?.template.spec?.containers[0]?.args).toContain(
      '--selector=revisor.dev/shard=payments',
    );
    const kinds = sharded.map((o) => o.kind).sort();
    expect(kinds).toEqual([
      'ConfigMap',
      'Deployment',
      'PodDisruptionBudget',
      'PrometheusRule',
      'Role',
      'Role',
      'RoleBinding',
      'RoleBinding',
      'Service',
      'ServiceAccount',
      'ServiceMonitor',
    ]);
  });

  it('runs the operator non-root on a read-only root filesystem, with leader election when replicated', async () => {
    const [deployment] = (await render(release(), 'default', ['operator.replicas=2'])).filter(
      (o) => o.kind === 'Deployment',
    );
    interface Container {
      args: string[];
      env: { name: string; value?: string }[];
      securityContext: unknown;
      livenessProbe: { httpGet: { path: string } };
      readinessProbe: { httpGet: { path: string } };
      volumeMounts: unknown[];
    }
    const pod = (
      deployment as unknown as {
        spec: { template: { spec: { securityContext: unknown; containers: Container[] } } };
      }
    ).spec.template.spec;
    const container = pod.containers[0]!;
    expect(pod.securityContext).toMatchObject({
      runAsNonRoot: true,
      runAsUser: 10001,
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(container.securityContext).toEqual({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
    });
    expect(container.args).toContain('--leader-elect');
    expect(container.livenessProbe.httpGet.path).toBe('/healthz');
    expect(container.readinessProbe.httpGet.path).toBe('/readyz');
    expect(container.volumeMounts).toContainEqual({ name: 'tmp', mountPath: '/tmp' });
    // The controller's heap is bounded as bench:controller measures it.
    expect(container.env).toContainEqual({
      name: 'NODE_OPTIONS',
      value: '--max-semi-space-size=1 --max-old-space-size=256',
    });
  });

  it("gives the controller's ServiceAccount exactly what it needs, through its own token", async () => {
    const ns = await testNamespace();
    const watched = await testNamespace();
    const other = await testNamespace();
    const name = release();
    const yaml = await helm([
      'template',
      name,
      chart,
      '--namespace',
      ns,
      '--set',
      `operator.watchNamespaces={${watched}}`,
      '--set',
      'operator.replicas=2',
    ]);
    await expectGrants(yaml, name, ns, {
      allowed: [
        ['watch', 'databasemigrations.revisor.dev', '-n', watched],
        ['update', 'databasemigrations.revisor.dev', '--subresource=status', '-n', watched],
        ['get', 'secrets', '-n', watched],
        ['watch', 'configmaps', '-n', watched],
        ['create', 'events', '-n', watched],
        ['create', 'jobs.batch', '-n', watched],
        ['delete', 'jobs.batch', '-n', watched],
        ['list', 'pods', '-n', watched],
        ['update', 'leases.coordination.k8s.io', '-n', ns],
      ],
      denied: [
        ['get', 'secrets', '-n', other],
        ['list', 'secrets', '--all-namespaces'],
        // Secrets by name only: the chart's default keeps no Secret watch.
        ['list', 'secrets', '-n', watched],
        ['watch', 'secrets', '-n', watched],
        ['create', 'secrets', '-n', watched],
        ['update', 'jobs.batch', '-n', watched],
        ['get', 'pods', '-n', watched],
        ['delete', 'databasemigrations.revisor.dev', '-n', watched],
        ['update', 'databasemigrations.revisor.dev', '-n', watched],
        ['watch', 'databasemigrations.revisor.dev', '-n', other],
        ['update', 'leases.coordination.k8s.io', '-n', watched],
      ],
    });
  });

  it('grants DatabaseMigrationSets what they use only when operator.migrationSets asks', async () => {
    const ns = await testNamespace();
    const name = release();
    const yaml = await helm([
      'template',
      name,
      chart,
      '--namespace',
      ns,
      '--set',
      `operator.watchNamespaces={${ns}}`,
      '--set',
      'operator.migrationSets=true',
    ]);
    expect(yaml).toContain('- --migration-sets');
    await expectGrants(yaml, name, ns, {
      allowed: [
        ['watch', 'databasemigrationsets.revisor.dev', '-n', ns],
        ['update', 'databasemigrationsets.revisor.dev', '--subresource=status', '-n', ns],
        ['create', 'databasemigrations.revisor.dev', '-n', ns],
        ['update', 'databasemigrations.revisor.dev', '-n', ns],
        ['delete', 'databasemigrations.revisor.dev', '-n', ns],
        ['list', 'secrets', '-n', ns],
      ],
      denied: [
        ['update', 'databasemigrationsets.revisor.dev', '-n', ns],
        ['delete', 'databasemigrationsets.revisor.dev', '-n', ns],
        ['watch', 'secrets', '-n', ns],
        ['update', 'secrets', '-n', ns],
      ],
    });
    const defaults = await helm(['template', name, chart, '--namespace', ns]);
    expect(defaults).not.toContain('databasemigrationsets');
  });

  it("runs the hook Job's own command against a real database: it migrates, then is a no-op", async () => {
    const [job] = (
      await render(release(), 'default', [
        'operator.enabled=false',
        'hook.enabled=true',
        'hook.database.secretName=db',
      ])
    ).filter((o) => o.kind === 'Job');
    const annotations = job!.metadata['annotations'] as Record<string, string>;
    expect(annotations['helm.sh/hook']).toBe('pre-install,pre-upgrade');
    expect(annotations['helm.sh/hook-delete-policy']).toBe('before-hook-creation,hook-succeeded');
    const spec = job as unknown as {
      spec: {
        activeDeadlineSeconds: number;
        backoffLimit: number;
        template: { spec: { containers: { args: string[] }[] } };
      };
    };
    expect(spec.spec.activeDeadlineSeconds).toBe(600);
    const args = spec.spec.template.spec.containers[0]!.args;
    expect(args.slice(0, 2)).toEqual(['upgrade', 'head']);
    const url = await createTestDatabase();
    const first = await runCli(args, { DATABASE_URL: url });
    expect(first.code).toBe(0);
    expect(first.stdout).toContain('applied 3 revision(s)');
    const again = await runCli(args, { DATABASE_URL: url });
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('nothing to do');
    expect(await versionRows(await connect(url))).toEqual(['c0b7d0e366e7']);
  });
});

describe('the example application charts', () => {
  it('lint, render and are accepted by the API server', async () => {
    await helm(['dependency', 'build', join(repoRoot, 'deploy/examples/app-hook')]);
    const ns = await testNamespace();
    for (const example of ['app-hook', 'app-init', 'app-operator']) {
      const dir = join(repoRoot, 'deploy/examples', example);
      expect(await helm(['lint', dir])).toContain('0 chart(s) failed');
      const yaml = await helm(['template', release(), dir, '--namespace', ns]);
      const out = await adminKubectl(['apply', '--dry-run=server', '-n', ns, '-f', '-'], yaml);
      expect(out).toMatch(/\(server dry run\)/);
    }
  });
});
