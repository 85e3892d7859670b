import * as k8s from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { Reason } from '../../src/controller/reasons.js';
import { applyManifest, events, startController, urlSecret } from '../support/controller.js';
import { createTestDatabase } from '../support/db.js';
import { adminConfig, adminKubectl, testNamespace } from '../support/kube/clients.js';
import { random } from '../support/random.js';

/**
 * Randomly mutated DatabaseMigration specs against the real API server and a running
 * controller: each is rejected by the API server, or accepted and given a Ready condition
 * with a documented reason; the controller stays healthy; no Secret value shows anywhere.
 * CI runs a fixed seed; REVISOR_FUZZ_SEED and REVISOR_FUZZ_COUNT run others by hand.
 */
const seed = Number(process.env['REVISOR_FUZZ_SEED'] ?? 20261128);
const count = Number(process.env['REVISOR_FUZZ_COUNT'] ?? 250);

const secretPassword = 'fuzz-password-91c2e7';
const secretUser = 'fuzz_user_5d1a';

const oddValues: unknown[] = [
  '',
  ' ',
  'x'.repeat(300),
  'ünïcødé-☃',
  '../../etc/passwd',
  'a/b',
  '%2F',
  -1,
  0,
  70000,
  1.5,
  true,
  null,
  [],
  {},
  { name: 'x' },
  'head',
  'heads',
  'base',
  'deadbeefcafe',
  '127.0.0.1:5440',
  'db host',
  'x@y.invalid',
  '::1',
  'localhost',
  'revisor_history',
  'pg_toast',
  'v'.repeat(64),
  'require',
  'verify-full',
  'prefer',
];

/** Values of the right type for a path, most of them still wrong: they get past the API server. */
const plausible: Record<string, unknown[]> = {
  targetRevision: ['head', 'heads', 'base', 'deadbeefcafe', '972fc63ffb69', 'zzzz'],
  'database.urlSecretRef.name': ['app-db', 'missing', 'not-allowed', 'bad-url', 'app-creds'],
  'database.urlSecretRef.key': ['url', 'password', 'host', 'nokey'],
  'database.host': ['127.0.0.1', '::1', 'db.internal', 'localhost', 'unreachable.invalid'],
  'database.port': [1, 5432, 65535],
  'database.name': ['app', 'postgres', 'x'.repeat(63)],
  'database.sslMode': ['disable', 'require', 'verify-ca', 'verify-full'],
  'database.credentialsSecretRef.name': ['app-creds', 'not-allowed', 'app-db', 'missing'],
  'database.caSecretRef.name': ['app-db', 'missing', 'not-allowed'],
  'migrations.configMapRef.name': ['missing-chain'],
  allowDowngrade: [true, false],
  dryRun: [true, false],
  lockWaitSeconds: [0, 1, 3600],
  lockTimeoutMs: [0, 1, 600000],
  statementTimeoutSeconds: [0, 1],
  transactionMode: ['per-migration', 'all'],
  'versionTable.name': ['alembic_version', 'v'.repeat(59), 'Other_Version'],
  'versionTable.schema': ['public', 'app', 'x'.repeat(63)],
  'retry.maxAttempts': [0, 1, 1000],
};

/** Dotted paths into the spec that a mutation may set, delete or retype. */
const paths = [
  'targetRevision',
  'database.urlSecretRef.name',
  'database.urlSecretRef.key',
  'database.urlSecretRef',
  'database.host',
  'database.port',
  'database.name',
  'database.sslMode',
  'database.credentialsSecretRef.name',
  'database.credentialsSecretRef',
  'database.caSecretRef.name',
  'migrations.configMapRef.name',
  'allowDowngrade',
  'dryRun',
  'lockWaitSeconds',
  'lockTimeoutMs',
  'statementTimeoutSeconds',
  'transactionMode',
  'versionTable.name',
  'versionTable.schema',
  'retry.maxAttempts',
];

function setPath(target: Record<string, unknown>, path: string, value: unknown): void {
  const keys = path.split('.');
  let node = target;
  for (const key of keys.slice(0, -1)) {
    if (typeof node[key] !== 'object' || node[key] === null || Array.isArray(node[key])) node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  const last = keys.at(-1)!;
  if (value === undefined) delete node[last];
  else node[last] = value;
}

function mutatedSpec(next: () => number): Record<string, unknown> {
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(next() * xs.length)]!;
  const spec: Record<string, unknown> =
    next() < 0.5
      ? { database: { urlSecretRef: { name: pick(['app-db', 'not-allowed', 'missing', 'bad-url']) } } }
      : {
          database: {
            host: pick(['127.0.0.1', 'db.internal', 'localhost']),
            port: 5432,
            credentialsSecretRef: { name: pick(['app-creds', 'not-allowed']) },
          },
        };
  const mutations = 1 + Math.floor(next() * 3);
  for (let i = 0; i < mutations; i++) {
    const path = pick(paths);
    const roll = next();
    setPath(
      spec,
      path,
      roll < 0.1 ? undefined : roll < 0.6 && plausible[path] ? pick(plausible[path]) : pick(oddValues),
    );
  }
  return spec;
}

describe('fuzzed DatabaseMigration specs', () => {
  it(`seed ${seed}: each is rejected, or accepted and given a documented Ready reason; nothing leaks`, async () => {
    const ns = await testNamespace();
    const url = new URL(await createTestDatabase());
    url.username = url.username || 'postgres';
    await applyManifest(ns, urlSecret('app-db', url.toString()));
    await applyManifest(ns, urlSecret('not-allowed', url.toString(), 'nobody'));
    await applyManifest(ns, urlSecret('bad-url', `https://db.example/?token=${secretPassword}`));
    await applyManifest(ns, {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'app-creds', annotations: { 'revisor.dev/allowed-migrations': '*' } },
      stringData: { username: secretUser, password: secretPassword, host: 'db.internal' },
    });
    const controller = await startController(['--namespaces', ns, '--max-concurrent', '8']);

    const api = adminConfig().makeApiClient(k8s.CustomObjectsApi);
    const next = random(seed);
    const accepted: string[] = [];
    let rejected = 0;
    for (let i = 0; i < count; i++) {
      const name = `f${i}`;
      const body = {
        apiVersion: 'revisor.dev/v1alpha1',
        kind: 'DatabaseMigration',
        metadata: { name },
        spec: mutatedSpec(next),
      };
      try {
        await api.createNamespacedCustomObject({
          group: 'revisor.dev',
          version: 'v1alpha1',
          namespace: ns,
          plural: 'databasemigrations',
          body,
        });
        accepted.push(name);
      } catch (err) {
        // The API server's answer to a bad spec: 422 Invalid (or 400 for a wrong type).
        expect([400, 422], JSON.stringify(body)).toContain((err as { code?: number }).code);
        rejected++;
      }
    }
    expect(accepted.length + rejected).toBe(count);
    expect(accepted.length).toBeGreaterThan(0);
    expect(rejected).toBeGreaterThan(0);

    const documented = new Set<string>(Object.values(Reason));
    const deadline = Date.now() + 90_000;
    let pending = new Set(accepted);
    let last: Record<string, unknown>[] = [];
    while (pending.size > 0 && Date.now() < deadline) {
      const list = JSON.parse(await adminKubectl(['get', 'databasemigrations', '-n', ns, '-o', 'json']));
      last = list.items;
      for (const item of list.items as {
        metadata: { name: string };
        status?: { conditions?: { type: string; reason: string }[] };
      }[]) {
        const ready = item.status?.conditions?.find((c) => c.type === 'Ready');
        if (ready) {
          expect(documented, `${item.metadata.name}: ${ready.reason}`).toContain(ready.reason);
          pending.delete(item.metadata.name);
        }
      }
      pending = new Set(pending);
      if (pending.size > 0) await new Promise((r) => setTimeout(r, 500));
    }
    expect([...pending], 'resources without a Ready condition').toEqual([]);

    expect(controller.child.exitCode).toBeNull();
    expect((await fetch(controller.metricsUrl.replace('/metrics', '/healthz'))).ok).toBe(true);
    const shown = JSON.stringify(last) + JSON.stringify(await events(ns)) + controller.logs();
    expect(shown).not.toContain(secretPassword);
    expect(shown).not.toContain(secretUser);
  }, 240_000);
});
