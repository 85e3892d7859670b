import { describe, expect, it } from 'vitest';
import { sqlMigration } from '../support/cli.js';
import {
  applyManifest,
  configMapChain,
  dbm,
  readyWith,
  startController,
  urlSecret,
  waitForStatus,
} from '../support/controller.js';
import { connect, createTestDatabase, versionRows } from '../support/db.js';
import { testNamespace } from '../support/kube/clients.js';

describe('controller shards (--selector)', () => {
  it('two controllers, each with its own label selector, reconcile their own resources and never the other', async () => {
    const ns = await testNamespace();
    await applyManifest(
      ns,
      configMapChain('chain', {
        '1.sql': sqlMigration('one', null, 'CREATE TABLE one (id int);', 'DROP TABLE one;'),
      }),
    );
    const urls: Record<string, string> = {};
    for (const shard of ['a', 'b']) {
      urls[shard] = await createTestDatabase();
      await applyManifest(ns, urlSecret(`db-${shard}`, urls[shard]!));
      const resource = dbm(`app-${shard}`, {
        database: { urlSecretRef: { name: `db-${shard}` } },
        migrations: { configMapRef: { name: 'chain' } },
      });
      await applyManifest(ns, {
        ...resource,
        metadata: { ...resource.metadata, labels: { 'revisor.dev/shard': shard } },
      });
    }
    const controllers = {
      a: await startController(['--namespaces', ns, '--selector', 'revisor.dev/shard=a']),
      b: await startController(['--namespaces', ns, '--selector', 'revisor.dev/shard=b']),
    };
    for (const shard of ['a', 'b'] as const) {
      await waitForStatus(ns, `app-${shard}`, readyWith('Applied'));
      expect(await versionRows(await connect(urls[shard]!))).toEqual(['one']);
    }
    // Each controller's per-resource series name only the resource of its shard.
    const a = await controllers.a.metrics();
    const b = await controllers.b.metrics();
    expect(a).toContain(`namespace="${ns}",name="app-a"`);
    expect(a).not.toContain('name="app-b"');
    expect(b).toContain(`namespace="${ns}",name="app-b"`);
    expect(b).not.toContain('name="app-a"');
  });
});
