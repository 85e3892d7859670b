import { describe, expect, it } from 'vitest';
import { listMetadata } from '../../src/controller/kube.js';
import {
  applyManifest,
  dbm,
  readyWith,
  startController,
  urlSecret,
  waitForStatus,
} from '../support/controller.js';
import { createTestDatabase } from '../support/db.js';
import { adminApi, adminKubectl, testNamespace } from '../support/kube/clients.js';

describe('the controller watches Secrets and ConfigMaps as metadata only', () => {
  it('lists a namespace holding a large unrelated Secret without its data crossing the wire, and still reacts to a change', async () => {
    const ns = await testNamespace();
    const big = 'x'.repeat(400 * 1024);
    // create, not apply: apply would copy the whole object into an annotation.
    await adminKubectl(
      ['create', '-n', ns, '-f', '-'],
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: 'helm-release' },
        stringData: { release: big },
      }),
    );
    const listed = await listMetadata(await adminApi(), `/api/v1/namespaces/${ns}/secrets`);
    const release = listed.items.find((i) => i.metadata.name === 'helm-release') as
      | Record<string, unknown>
      | undefined;
    expect(release).toBeDefined();
    expect(release?.['data']).toBeUndefined();
    expect(JSON.stringify(listed).length).toBeLessThan(10_000);
    expect(listed.resourceVersion).not.toBe('');

    // The watch still tells the controller that a referenced Secret appeared.
    await startController(['--namespaces', ns, '--watch-secrets']);
    await applyManifest(ns, dbm('app', { database: { urlSecretRef: { name: 'app-db' } } }));
    await waitForStatus(ns, 'app', readyWith('SecretNotFound'));
    await applyManifest(ns, urlSecret('app-db', await createTestDatabase()));
    await waitForStatus(ns, 'app', readyWith('Applied'), 30_000);
  });
});
