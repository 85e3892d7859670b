import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  applyManifest,
  conditionOf,
  dbm,
  events,
  readyWith,
  startController,
  urlSecret,
  waitForStatus,
} from '../support/controller.js';
import { adminUrl, createTestDatabase } from '../support/db.js';
import { adminKubectl, serviceAccountConfig, testNamespace } from '../support/kube/clients.js';
import { passwordHarvester } from '../support/pg-listener.js';
import { testDir } from '../support/temp-dir.js';
import { enableServerTls } from '../support/tls.js';

const password = 'other-apps-password-4711';
const username = 'other_app_user_0815';

/** Another application's credentials, as its owner created them. */
function credentials(name: string, annotations: Record<string, string>, host?: string) {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name, annotations },
    stringData: { username, password, ...(host ? { host } : {}) },
  };
}

/**
 * A namespace with the given credentials Secret, a controller, a password harvester, and
 * DatabaseMigration `name` pointing the host form at the harvester with that Secret.
 */
async function aimedAtHarvester(name: string, secret: ReturnType<typeof credentials>) {
  const ns = await testNamespace();
  const listener = await passwordHarvester();
  await applyManifest(ns, secret);
  const controller = await startController(['--namespaces', ns]);
  await applyManifest(
    ns,
    dbm(name, {
      database: {
        host: '127.0.0.1',
        port: listener.port,
        sslMode: 'disable',
        credentialsSecretRef: { name: secret.metadata.name },
      },
    }),
  );
  return { ns, listener, controller };
}

async function everythingShown(ns: string, name: string, logs: string): Promise<string> {
  const resource = await adminKubectl(['get', 'databasemigration', name, '-n', ns, '-o', 'json']);
  return resource + JSON.stringify(await events(ns)) + logs;
}

describe('the controller as a security boundary', () => {
  it('does not hand a Secret that did not opt in to a host the resource names', async () => {
    const { ns, listener, controller } = await aimedAtHarvester('thief', credentials('other-app', {}));
    const status = await waitForStatus(ns, 'thief', readyWith('SecretNotPermitted'));
    expect(conditionOf(status, 'Ready')?.message).toContain('revisor.dev/allowed-migrations=thief');
    expect(listener.connections()).toBe(0);
    const shown = await everythingShown(ns, 'thief', controller.logs());
    expect(shown).not.toContain(password);
    expect(shown).not.toContain(username);
  });

  it('sends credentials only to the hosts their Secret names', async () => {
    const { ns, listener, controller } = await aimedAtHarvester(
      'thief',
      credentials('other-app', { 'revisor.dev/allowed-migrations': '*' }, 'db.internal'),
    );
    const status = await waitForStatus(ns, 'thief', readyWith('HostNotPermitted'));
    expect(conditionOf(status, 'Ready')?.message).toContain(
      'does not allow its credentials to be sent to 127.0.0.1',
    );
    expect(listener.connections()).toBe(0);
    expect(await everythingShown(ns, 'thief', controller.logs())).not.toContain(password);
  });

  it('refuses a server that asks for a cleartext password, unless the Secret allows it', async () => {
    const { ns, listener, controller } = await aimedAtHarvester(
      'app',
      credentials('app-db', {
        'revisor.dev/allowed-migrations': 'app',
        'revisor.dev/allowed-hosts': '127.0.0.1',
      }),
    );
    const status = await waitForStatus(ns, 'app', readyWith('ConnectionFailed'));
    expect(conditionOf(status, 'Ready')?.message).toContain('asked for a cleartext password');
    expect(listener.connections()).toBeGreaterThan(0);
    expect(listener.received()).not.toContain(password);
    const shown = await everythingShown(ns, 'app', controller.logs());
    expect(shown).not.toContain(password);
    expect(shown).not.toContain(username);
    // The owner of the Secret may allow it; the next retry then sends the password.
    await adminKubectl(['annotate', 'secret', 'app-db', '-n', ns, 'revisor.dev/allow-insecure-auth=true']);
    await expect.poll(() => listener.received(), { timeout: 30_000, interval: 200 }).toContain(password);
  });

  it.each([
    ['https://db.example/?token=tok-SECRET-1', 'tok-SECRET-1'],
    ['postgres:PASS-SECRET-2@db.example/app', 'PASS-SECRET-2'],
    ['admin:PASS-SECRET-3', 'PASS-SECRET-3'],
  ])(
    'gives a URL that is not postgres:// (%s) an InvalidDatabaseURL condition that never shows it',
    async (url, secret) => {
      const ns = await testNamespace();
      await applyManifest(ns, urlSecret('app-db', url));
      const controller = await startController(['--namespaces', ns]);
      await applyManifest(ns, dbm('app', { database: { urlSecretRef: { name: 'app-db' } } }));
      const status = await waitForStatus(ns, 'app', readyWith('InvalidDatabaseURL'));
      expect(conditionOf(status, 'Degraded')?.status).toBe('True');
      expect(await everythingShown(ns, 'app', controller.logs())).not.toContain(secret);
    },
  );

  it('has bad hosts, reference names and version tables rejected by the API server', async () => {
    const ns = await testNamespace();
    const rejected = async (database: Record<string, unknown>, extra: Record<string, unknown> = {}) => {
      const err = await applyManifest(ns, dbm('bad', { database, ...extra })).then(
        () => null,
        (e: Error) => e.message,
      );
      expect(err, JSON.stringify({ database, extra })).toMatch(
        /Invalid value|Unsupported value|should match|must/,
      );
    };
    const creds = { credentialsSecretRef: { name: 'db' } };
    for (const host of ['127.0.0.1:5440', 'db host', 'x@y.invalid', 'a/b.invalid'])
      await rejected({ host, ...creds });
    for (const name of ['other/app', 'app%2Fdb', 'UPPER']) await rejected({ urlSecretRef: { name } });
    const url = { urlSecretRef: { name: 'db' } };
    await rejected(url, { versionTable: { name: 'revisor_history' } });
    await rejected(url, { versionTable: { name: 'v'.repeat(60) } });
    await rejected(url, { versionTable: { schema: 'pg_toast' } });
    await rejected(url, { versionTable: { schema: 'information_schema' } });
  });

  it('reads sslmode=require in a URL as libpq does: encrypted, not verified', async () => {
    await enableServerTls(adminUrl());
    const ns = await testNamespace();
    const url = new URL(await createTestDatabase());
    url.search = 'sslmode=require';
    await applyManifest(ns, urlSecret('app-db', url.toString()));
    url.search = 'sslmode=verify-full';
    await applyManifest(ns, urlSecret('strict-db', url.toString()));
    await startController(['--namespaces', ns]);
    await applyManifest(ns, dbm('app', { database: { urlSecretRef: { name: 'app-db' } } }));
    await waitForStatus(ns, 'app', readyWith('Applied'), 60_000);
    // The same server's self-signed certificate fails verification.
    await applyManifest(ns, dbm('strict', { database: { urlSecretRef: { name: 'strict-db' } } }));
    const strict = await waitForStatus(ns, 'strict', readyWith('ConnectionFailed'));
    expect(conditionOf(strict, 'Ready')?.message).toMatch(/self[- ]signed/);
  });

  it('still migrates through a Secret that allows the resource', async () => {
    const ns = await testNamespace();
    const url = await createTestDatabase();
    await applyManifest(ns, urlSecret('app-db', url, 'app'));
    await applyManifest(ns, urlSecret('not-for-app', adminUrl(), 'someone-else'));
    await startController(['--namespaces', ns]);
    await applyManifest(ns, dbm('app', { database: { urlSecretRef: { name: 'app-db' } } }));
    await waitForStatus(ns, 'app', readyWith('Applied'), 60_000);
    await applyManifest(ns, dbm('other', { database: { urlSecretRef: { name: 'not-for-app' } } }));
    await waitForStatus(ns, 'other', readyWith('SecretNotPermitted'));
  });
});

describe('API errors on references', () => {
  it('a Secret the operator may not read (403) gives ReferenceUnreadable, not a silent retry', async () => {
    const ns = await testNamespace();
    const url = await createTestDatabase();
    await applyManifest(ns, urlSecret('app-db', url));
    await applyManifest(ns, urlSecret('locked-db', url));
    // The operator's rules, but Secrets readable by name only for app-db.
    const rbac = [
      { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'ctl' } },
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'Role',
        metadata: { name: 'ctl' },
        rules: [
          { apiGroups: ['revisor.dev'], resources: ['databasemigrations'], verbs: ['get', 'list', 'watch'] },
          {
            apiGroups: ['revisor.dev'],
            resources: ['databasemigrations/status'],
            verbs: ['get', 'update', 'patch'],
          },
          { apiGroups: [''], resources: ['secrets', 'configmaps'], verbs: ['list', 'watch'] },
          { apiGroups: [''], resources: ['secrets'], verbs: ['get'], resourceNames: ['app-db'] },
          { apiGroups: [''], resources: ['events'], verbs: ['create', 'patch'] },
        ],
      },
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'RoleBinding',
        metadata: { name: 'ctl' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'ctl' },
        subjects: [{ kind: 'ServiceAccount', name: 'ctl', namespace: ns }],
      },
    ];
    for (const object of rbac) await applyManifest(ns, object);
    const kubeconfig = join(await testDir('revisor-sa-'), 'kubeconfig');
    await writeFile(kubeconfig, (await serviceAccountConfig(ns, 'ctl')).exportConfig());
    await startController(['--namespaces', ns], { KUBECONFIG: kubeconfig });
    await applyManifest(ns, dbm('allowed', { database: { urlSecretRef: { name: 'app-db' } } }));
    await waitForStatus(ns, 'allowed', readyWith('Applied'), 60_000);
    await applyManifest(ns, dbm('locked', { database: { urlSecretRef: { name: 'locked-db' } } }));
    const status = await waitForStatus(ns, 'locked', readyWith('ReferenceUnreadable'));
    expect(conditionOf(status, 'Ready')?.message).toContain('the API server answered 403');
    expect(conditionOf(status, 'Ready')?.message).toContain('retrying in');
  });
});
