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

describe('very long and binary values in every Secret key and spec string', () => {
  it('each resource gets a bounded Ready condition; no value shows; the controller stays healthy', async () => {
    const ns = await testNamespace();
    const next = random(seed + 1);
    const binary = (n: number) =>
      Buffer.from(Array.from({ length: n }, () => Math.floor(next() * 256))).toString('base64');
    const long = `${'h'.repeat(300_000)}.invalid`;
    const password = `pw-${'p'.repeat(50_000)}`;
    const shapes: Record<string, string>[] = [
      { url: Buffer.from(`postgres://u_long:${password}@${long}:5432/app`).toString('base64') },
      { url: binary(4096) },
      { url: Buffer.from(`postgres://u\u0000x:${password}@127.0.0.1:1/\u001b[31mapp`).toString('base64') },
      { username: binary(70_000), password: binary(70_000), host: binary(300) },
      {
        username: Buffer.from('fuzz_user_bin').toString('base64'),
        password: Buffer.from(password).toString('base64'),
        host: Buffer.from(long).toString('base64'),
      },
    ];
    for (const [i, data] of shapes.entries()) {
      // create, not apply: apply's last-applied annotation could not hold these values.
      await adminKubectl(
        ['create', '-n', ns, '-f', '-'],
        JSON.stringify({
          apiVersion: 'v1',
          kind: 'Secret',
          metadata: { name: `s${i}`, annotations: { 'revisor.dev/allowed-migrations': '*' } },
          data,
        }),
      );
    }
    const controller = await startController(['--namespaces', ns, '--connect-timeout', '2s']);
    const api = adminConfig().makeApiClient(k8s.CustomObjectsApi);
    const oddStrings = ['x'.repeat(100_000), 'bad\u0001\u007fname', '\u202e\u2028revision', binary(200)];
    const accepted: string[] = [];
    for (let i = 0; i < 24; i++) {
      const secret = `s${i % shapes.length}`;
      const odd = oddStrings[i % oddStrings.length]!;
      const database =
        'url' in shapes[i % shapes.length]!
          ? { urlSecretRef: { name: secret, key: i % 3 === 0 ? odd.slice(0, 253) : 'url' } }
          : {
              host: i % 2 ? '127.0.0.1' : odd,
              port: 5432,
              name: odd,
              credentialsSecretRef: { name: secret },
            };
      const spec = { database, targetRevision: i % 4 === 1 ? odd : 'head' };
      try {
        await api.createNamespacedCustomObject({
          group: 'revisor.dev',
          version: 'v1alpha1',
          namespace: ns,
          plural: 'databasemigrations',
          body: {
            apiVersion: 'revisor.dev/v1alpha1',
            kind: 'DatabaseMigration',
            metadata: { name: `b${i}` },
            spec,
          },
        });
        accepted.push(`b${i}`);
      } catch (err) {
        expect([400, 422]).toContain((err as { code?: number }).code);
      }
    }
    expect(accepted.length).toBeGreaterThan(5);
    let items: {
      metadata: { name: string };
      status?: { conditions?: { type: string; message: string }[] };
    }[] = [];
    const deadline = Date.now() + 90_000;
    while (Date.now() < deadline) {
      items = JSON.parse(await adminKubectl(['get', 'databasemigrations', '-n', ns, '-o', 'json'])).items;
      if (items.every((it) => it.status?.conditions?.some((c) => c.type === 'Ready'))) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    for (const item of items) {
      const conditions = item.status?.conditions ?? [];
      expect(
        conditions.map((c) => c.type),
        item.metadata.name,
      ).toContain('Ready');
      for (const c of conditions) {
        expect(c.message.length).toBeLessThanOrEqual(1024);
        expect(c.message).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f\u2028\u2029]/);
      }
    }
    expect(controller.child.exitCode).toBeNull();
    const shown = JSON.stringify(items) + JSON.stringify(await events(ns)) + controller.logs();
    expect(shown).not.toContain('p'.repeat(64));
    expect(shown).not.toContain('fuzz_user_bin');
    expect(shown).not.toContain('u_long');
  }, 240_000);
});
