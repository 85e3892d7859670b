import { expect, it } from 'vitest';
import {
  apply,
  describeOnNode,
  getJson,
  installOperator,
  namespace,
  nodeDatabase,
  nodeKubectl,
  podReport,
  readyCondition,
  until,
} from './support.js';

describeOnNode('the operator installed by its chart, on a real node', () => {
  it('becomes Ready, takes its Lease, serves /metrics from the pod, and brings a DatabaseMigration to head with the chart RBAC', async () => {
    const ns = await namespace('revisor');
    const pod = await installOperator(ns, ['--set', 'operator.leaderElection.enabled=true']);
    // The pod runs as the chart says, as the real kubelet enforces it: uid 10001, a
    // read-only root filesystem, a writable /tmp.
    expect(pod.spec.containers[0]?.securityContext).toMatchObject({ readOnlyRootFilesystem: true });
    const inPod = (script: string) =>
      nodeKubectl(['exec', '-n', ns, pod.metadata.name, '--', 'node', '-e', script]).then((out) =>
        out.trim(),
      );
    expect(await inPod('process.stdout.write(String(process.getuid()))')).toBe('10001');
    const writes =
      "const fs = require('fs'); const w = (p) => { try { fs.writeFileSync(p, 'x'); return 'yes'; } catch (e) { return e.code; } };" +
      "process.stdout.write([w('/app/x'), w('/x'), w('/tmp/x')].join(','))";
    expect(await inPod(writes)).toBe('EROFS,EROFS,yes');

    const lease = await until('the Lease', async () => {
      const found = await getJson<{ spec: { holderIdentity?: string } }>(ns, 'lease', 'revisor');
      return found.spec.holderIdentity ? found : undefined;
    });
    expect(lease.spec.holderIdentity).toBe(pod.metadata.name);
    const metrics = await (await fetch(`http://${pod.status.podIP}:8080/metrics`)).text();
    expect(metrics).toContain('revisor_leader 1');

    const url = await nodeDatabase();
    await apply(ns, {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'app-db', annotations: { 'revisor.dev/allowed-migrations': 'app' } },
      stringData: { url },
    });
    await apply(ns, {
      apiVersion: 'revisor.dev/v1alpha1',
      kind: 'DatabaseMigration',
      metadata: { name: 'app' },
      spec: { database: { urlSecretRef: { name: 'app-db' } }, targetRevision: 'head' },
    });
    const done = await until(
      'the DatabaseMigration Ready',
      async () => {
        const dbm = await getJson<{ status?: { currentRevision?: string; conditions?: never[] } }>(
          ns,
          'databasemigration',
          'app',
        );
        return readyCondition(dbm)?.status === 'True' ? dbm : undefined;
      },
      120_000,
      () => podReport(ns),
    );
    expect(done.status?.currentRevision).toBe('c0b7d0e366e7');
    const after = await (await fetch(`http://${pod.status.podIP}:8080/metrics`)).text();
    expect(after).toMatch(/revisor_migrations_applied_total\{[^}]*result="success"[^}]*\} 3/);
  });
});
