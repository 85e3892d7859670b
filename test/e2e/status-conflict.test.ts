import { describe, expect, it } from 'vitest';
import { httpStatus } from '../../src/controller/http-status.js';
import { KubeCluster } from '../../src/controller/kube.js';
import type { DatabaseMigration } from '../../src/controller/resource.js';
import { applyManifest, dbm } from '../support/controller.js';
import { adminApi, adminKubectl, testNamespace } from '../support/kube/clients.js';

const read = async (ns: string): Promise<DatabaseMigration> =>
  JSON.parse(await adminKubectl(['get', 'databasemigration', 'app', '-n', ns, '-o', 'json']));

/**
 * A reconcile computes its status from the informer's copy, which can lag behind the status
 * the previous reconcile of the same resource just wrote. The API server refuses the write
 * (409: an older resourceVersion); repeating it on the object read again would undo the
 * newer status, which a DatabaseMigrationSet's canary check once caught as a child at a2
 * whose steps no longer showed a2.
 */
describe('a status write computed from a stale copy', () => {
  it('goes back to the queue when the status moved, and is repeated when only the metadata did', async () => {
    const ns = await testNamespace();
    await applyManifest(ns, dbm('app', { database: { urlSecretRef: { name: 'app-db' } } }));
    const cluster = new KubeCluster(await adminApi());
    const seen = await read(ns);
    const newer = await cluster.writeStatus(seen, { observedGeneration: 1, currentRevision: 'a2' });

    const stale = cluster.writeStatus(seen, { observedGeneration: 1, currentRevision: 'a1' });
    await expect(stale).rejects.toSatisfy((err: unknown) => httpStatus(err) === 409);
    expect((await read(ns)).status?.currentRevision).toBe('a2');

    await adminKubectl(['label', 'databasemigration', 'app', '-n', ns, 'team=shop']);
    const written = await cluster.writeStatus(newer, { observedGeneration: 1, currentRevision: 'a3' });
    expect(written.metadata.labels?.['team']).toBe('shop');
    expect((await read(ns)).status?.currentRevision).toBe('a3');
  });
});
