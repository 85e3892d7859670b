import { execFile as execFileCb } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import * as k8s from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { adminConfig, adminKubectl, serviceAccountConfig, testNamespace } from '../support/kube/clients.js';
import { binary, repoRoot } from '../support/kube/cluster.js';

const execFile = promisify(execFileCb);
const group = 'test.revisor.dev';
const widget = (name: string, spec: Record<string, unknown>) => ({
  apiVersion: `${group}/v1`,
  kind: 'Widget',
  metadata: { name },
  spec,
});

function statusCode(err: unknown): number | undefined {
  return (err as { code?: number }).code ?? (err as { statusCode?: number }).statusCode;
}

describe('the test cluster is a real API server', () => {
  it('validates against the CRD schema on a server-side dry run, and prunes unknown fields', async () => {
    const ns = await testNamespace();
    const invalid = adminKubectl(
      ['apply', '--dry-run=server', '-n', ns, '-f', '-'],
      JSON.stringify(widget('bad', { size: 0 })),
    );
    await expect(invalid).rejects.toThrow(
      /spec\.size: Invalid value: 0: spec\.size in body should be greater than or equal to 1/,
    );
    const wrongEnum = adminKubectl(
      ['apply', '--dry-run=server', '-n', ns, '-f', '-'],
      JSON.stringify(widget('bad', { size: 1, colour: 'mauve' })),
    );
    await expect(wrongEnum).rejects.toThrow(/Unsupported value: "mauve"/);

    const strict = adminKubectl(
      ['apply', '-n', ns, '-f', '-'],
      JSON.stringify(widget('good', { size: 2, extra: 'dropped' })),
    );
    await expect(strict).rejects.toThrow(/unknown field "spec\.extra"/);
    // Without strict field validation the server prunes what the schema does not know.
    await adminKubectl(
      ['apply', '--validate=ignore', '-n', ns, '-f', '-'],
      JSON.stringify(widget('good', { size: 2, extra: 'dropped' })),
    );
    const stored = JSON.parse(await adminKubectl(['get', 'widget', 'good', '-n', ns, '-o', 'json']));
    expect(stored.spec).toEqual({ size: 2 });
  });

  it('answers a status update with a stale resourceVersion with 409 Conflict', async () => {
    const ns = await testNamespace();
    const api = adminConfig().makeApiClient(k8s.CustomObjectsApi);
    const created = (await api.createNamespacedCustomObject({
      group,
      version: 'v1',
      namespace: ns,
      plural: 'widgets',
      body: widget('w', { size: 3 }),
    })) as { metadata: { resourceVersion: string } };
    const stale = created.metadata.resourceVersion;
    await api.patchNamespacedCustomObjectStatus(
      {
        group,
        version: 'v1',
        namespace: ns,
        plural: 'widgets',
        name: 'w',
        body: { status: { phase: 'Ready' } },
      },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
    );
    const conflict = api.replaceNamespacedCustomObjectStatus({
      group,
      version: 'v1',
      namespace: ns,
      plural: 'widgets',
      name: 'w',
      body: {
        ...widget('w', { size: 3 }),
        metadata: { name: 'w', resourceVersion: stale },
        status: { phase: 'Old' },
      },
    });
    await expect(conflict).rejects.toSatisfy((err: unknown) => statusCode(err) === 409);
  });

  it('expires a watch from a compacted resourceVersion with 410 Gone; a relist still sees every object', async () => {
    const ns = await testNamespace();
    const kc = adminConfig();
    const api = kc.makeApiClient(k8s.CustomObjectsApi);
    for (const name of ['a', 'b', 'c']) {
      await api.createNamespacedCustomObject({
        group,
        version: 'v1',
        namespace: ns,
        plural: 'widgets',
        body: widget(name, { size: 1 }),
      });
    }
    const path = `/apis/${group}/v1/namespaces/${ns}/widgets`;
    const expired = await new Promise<number | undefined>((resolve, reject) => {
      let code: number | undefined;
      new k8s.Watch(kc)
        .watch(
          path,
          { resourceVersion: '1' },
          (type, obj) => {
            if (type === 'ERROR') code = (obj as { code?: number }).code;
          },
          (err) => (err && statusCode(err) !== 410 ? reject(err) : resolve(code ?? statusCode(err))),
        )
        .catch(reject);
    });
    expect(expired).toBe(410);

    const list = (await api.listNamespacedCustomObject({
      group,
      version: 'v1',
      namespace: ns,
      plural: 'widgets',
    })) as {
      items: { metadata: { name: string } }[];
      metadata: { resourceVersion: string };
    };
    expect(list.items.map((i) => i.metadata.name).sort()).toEqual(['a', 'b', 'c']);
    const seen: string[] = [];
    const request = await new k8s.Watch(kc).watch(
      path,
      { resourceVersion: list.metadata.resourceVersion },
      (type, obj) => seen.push(`${type} ${(obj as { metadata: { name: string } }).metadata.name}`),
      () => undefined,
    );
    await api.createNamespacedCustomObject({
      group,
      version: 'v1',
      namespace: ns,
      plural: 'widgets',
      body: widget('d', { size: 1 }),
    });
    const deadline = Date.now() + 10_000;
    while (!seen.includes('ADDED d') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    request.abort();
    expect(seen).toEqual(['ADDED d']);
  });

  it('renders a chart with helm template, and the server accepts what it renders', async () => {
    const ns = await testNamespace();
    const { stdout } = await execFile(binary('helm'), [
      'template',
      'demo',
      join(repoRoot, 'test/fixtures/charts/hello'),
      '--namespace',
      ns,
      '--set',
      'greeting=hi there',
    ]);
    expect(stdout).toContain('name: demo-greeting');
    expect(stdout).toContain('greeting: "hi there"');
    const applied = await adminKubectl(['apply', '--dry-run=server', '-n', ns, '-f', '-'], stdout);
    expect(applied).toContain('configmap/demo-greeting created (server dry run)');
  });

  it('denies a ServiceAccount without a Role, and allows it once bound', async () => {
    const ns = await testNamespace();
    await adminKubectl(['create', 'serviceaccount', 'reader', '-n', ns]);
    const core = (await serviceAccountConfig(ns, 'reader')).makeApiClient(k8s.CoreV1Api);
    await expect(core.listNamespacedSecret({ namespace: ns })).rejects.toSatisfy(
      (err: unknown) => statusCode(err) === 403,
    );

    await adminKubectl(['create', 'role', 'secret-reader', '--verb=list', '--resource=secrets', '-n', ns]);
    await adminKubectl([
      'create',
      'rolebinding',
      'reader',
      '--role=secret-reader',
      `--serviceaccount=${ns}:reader`,
      '-n',
      ns,
    ]);
    const deadline = Date.now() + 10_000;
    let allowed = false;
    while (!allowed && Date.now() < deadline) {
      allowed = await core.listNamespacedSecret({ namespace: ns }).then(
        () => true,
        () => false,
      );
      if (!allowed) await new Promise((r) => setTimeout(r, 100));
    }
    expect(allowed).toBe(true);
    await expect(core.listSecretForAllNamespaces()).rejects.toSatisfy(
      (err: unknown) => statusCode(err) === 403,
    );
  });
});
