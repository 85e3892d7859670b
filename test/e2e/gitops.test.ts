import { describe, expect, it } from 'vitest';
import { argoHealth } from '../support/argocd.js';
import {
  applyManifest,
  conditionOf,
  dbm,
  readyWith,
  startController,
  urlSecret,
  waitForStatus,
} from '../support/controller.js';
import { createTestDatabase } from '../support/db.js';
import { adminKubectl, testNamespace } from '../support/kube/clients.js';

const get = async (ns: string) =>
  JSON.parse(await adminKubectl(['get', 'databasemigration', 'app', '-n', ns, '-o', 'json']));

/**
 * The status the controller writes, read back from the real API server, through the Argo
 * CD health check run by a real Lua interpreter: the fixtures are whatever the controller
 * produced, not hand-written.
 */
describe('GitOps health: kstatus conditions and the Argo CD health check', () => {
  it('Healthy when applied, Degraded when stalled, Progressing while retrying, Suspended when suspended', async () => {
    const ns = await testNamespace();
    const url = await createTestDatabase();
    await applyManifest(ns, urlSecret('app-db', url));
    await startController(['--namespaces', ns, '--resync', '2s']);
    const spec = (extra: Record<string, unknown>) =>
      dbm('app', { database: { urlSecretRef: { name: 'app-db' } }, ...extra });

    await applyManifest(ns, spec({}));
    const applied = await waitForStatus(ns, 'app', readyWith('Applied'));
    expect(conditionOf(applied, 'Reconciling')?.status).toBe('False');
    expect(conditionOf(applied, 'Stalled')?.status).toBe('False');
    expect(argoHealth(await get(ns))).toMatchObject({ status: 'Healthy' });

    // Below the current revision without allowDowngrade: it needs a human.
    await applyManifest(ns, spec({ targetRevision: '972fc63ffb69' }));
    const stalled = await waitForStatus(ns, 'app', readyWith('DowngradeNotAllowed'));
    expect(conditionOf(stalled, 'Stalled')?.status).toBe('True');
    const degraded = argoHealth(await get(ns));
    expect(degraded.status).toBe('Degraded');
    expect(degraded.message).toContain('DowngradeNotAllowed: target 972fc63ffb69');

    // A Secret that is not there yet: retried by the controller, so still in progress.
    await applyManifest(ns, dbm('app', { database: { urlSecretRef: { name: 'not-yet' } } }));
    const retrying = await waitForStatus(ns, 'app', readyWith('SecretNotFound'));
    expect(conditionOf(retrying, 'Reconciling')?.status).toBe('True');
    expect(conditionOf(retrying, 'Stalled')?.status).toBe('False');
    expect(argoHealth(await get(ns))).toMatchObject({ status: 'Progressing' });

    await applyManifest(ns, spec({ suspend: true }));
    await waitForStatus(ns, 'app', readyWith('Suspended'));
    expect(argoHealth(await get(ns))).toMatchObject({ status: 'Suspended' });
  });
});
