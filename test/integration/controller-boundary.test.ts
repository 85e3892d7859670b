import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { ApiServerError } from '../../src/controller/http-status.js';
import { reconcile } from '../../src/controller/migration/index.js';
import type { DatabaseMigration, Status } from '../../src/controller/resource.js';
import type { SecretObject } from '../../src/controller/secret-policy.js';
import { sqlMigration } from '../support/cli.js';
import { adminUrl, connect, createTestDatabase, versionRows } from '../support/db.js';
import { deps, FakeCluster } from '../support/fake-cluster.js';
import { passwordHarvester } from '../support/pg-listener.js';

const resource = (database: Record<string, unknown>, status?: Status): DatabaseMigration => ({
  metadata: { name: 'app', namespace: 'team-a', generation: 1, resourceVersion: '1' },
  spec: { database },
  ...(status ? { status } : {}),
});
const urlSpec = { urlSecretRef: { name: 'db', key: 'url' } };
const ready = (s: Status | undefined) => s?.conditions?.find((c) => c.type === 'Ready');
const allowedUrl = (url: string): SecretObject => ({
  data: { url },
  annotations: { 'revisor.dev/allowed-migrations': '*' },
});
const refused = () =>
  new ApiServerError(
    'custom.replaceNamespacedCustomObjectStatus',
    Object.assign(new Error('request to https://127.0.0.1:1/ failed, reason: connect ECONNREFUSED'), {
      code: 'ECONNREFUSED',
    }),
  );

/** The API server goes away after `upFor` status writes, and stays away until `restore`. */
class FlakyCluster extends FakeCluster {
  down = false;
  constructor(private readonly upFor: number) {
    super();
  }
  override async writeStatus(r: DatabaseMigration, status: Status) {
    if (this.down || this.writes.length >= this.upFor) {
      this.down = true;
      throw refused();
    }
    return super.writeStatus(r, status);
  }
  override async event(r: DatabaseMigration, type: 'Normal' | 'Warning', reason: string, message: string) {
    if (this.down) throw refused();
    return super.event(r, type, reason, message);
  }
}

describe('the controller at its boundary with the API server and the database', () => {
  it('an API server gone mid-run goes back to the work queue (never a database error); the next pass ends Ready, each step applied once', async () => {
    const url = await createTestDatabase();
    // Gone from the first status write: the run started (its Started Event went out) and
    // its steps go on, but its result cannot be written.
    const cluster = new FlakyCluster(0);
    cluster.secrets.set('team-a/db', allowedUrl(url));
    const unhandled: unknown[] = [];
    const onUnhandled = (err: unknown) => unhandled.push(err);
    process.on('unhandledRejection', onUnhandled);
    try {
      await expect(reconcile(resource(urlSpec), deps(cluster))).rejects.toBeInstanceOf(ApiServerError);
      // The steps went on while the API server was away: the database is at head.
      const db = await connect(url);
      expect(await versionRows(db)).toEqual(['c0b7d0e366e7']);
      // Nothing claimed a database failure while the API server was away.
      expect(cluster.writes.every((w) => ready(w)?.reason !== 'ConnectionFailed')).toBe(true);

      cluster.down = false;
      const back = new FakeCluster();
      back.secrets = cluster.secrets;
      const again = await reconcile(resource(urlSpec, cluster.writes.at(-1)), deps(back));
      expect(again.outcome).toBe('ready');
      expect(ready(back.writes.at(-1))).toMatchObject({ status: 'True' });
      const { rows } = await db.query<{ revision: string; n: number }>(
        "SELECT revision, count(*)::int AS n FROM revisor_history WHERE direction = 'upgrade' GROUP BY revision",
      );
      expect(rows).toHaveLength(3);
      expect(rows.every((r) => r.n === 1)).toBe(true);
      await new Promise((r) => setImmediate(r));
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  it('a Secret URL with a 300,000-character host still gets a condition, bounded and redacted', async () => {
    const cluster = new FakeCluster();
    const host = `${'h'.repeat(300_000)}.invalid`;
    cluster.secrets.set('team-a/db', allowedUrl(`postgres://long_user:pw-1234@${host}:5432/app`));
    const result = await reconcile(resource(urlSpec), { ...deps(cluster), connectTimeoutMs: 2000 });
    expect(result.outcome).toBe('failed');
    const status = cluster.writes.at(-1)!;
    expect(ready(status)?.status).toBe('False');
    expect(JSON.stringify(status).length).toBeLessThan(16 * 1024);
    for (const condition of status.conditions ?? [])
      expect(condition.message.length).toBeLessThanOrEqual(1024);
    for (const event of cluster.events) expect(event.message.length).toBeLessThanOrEqual(1024);
  });

  it('a database named with ";" and "/" is connected to by that name (host form)', async () => {
    const name = `rp;semi/${Date.now().toString(36)}`;
    const admin = await connect(adminUrl());
    await admin.query(`CREATE DATABASE ${pg.escapeIdentifier(name)}`);
    try {
      const server = new URL(adminUrl());
      const cluster = new FakeCluster();
      cluster.secrets.set('team-a/creds', {
        data: {
          username: decodeURIComponent(server.username) || 'postgres',
          password: decodeURIComponent(server.password),
          host: server.hostname,
        },
        annotations: { 'revisor.dev/allowed-migrations': '*' },
      });
      const spec = {
        host: server.hostname,
        port: Number(server.port),
        name,
        sslMode: 'disable',
        credentialsSecretRef: { name: 'creds' },
      };
      const result = await reconcile(resource(spec), deps(cluster));
      expect(ready(cluster.writes.at(-1))?.message).not.toContain('does not exist');
      expect(result.outcome).toBe('ready');
      const db = new pg.Client({
        host: server.hostname,
        port: Number(server.port),
        user: decodeURIComponent(server.username) || 'postgres',
        password: decodeURIComponent(server.password),
        database: name,
      });
      db.on('error', () => undefined);
      await db.connect();
      try {
        expect((await db.query('SELECT version_num FROM alembic_version')).rows).toEqual([
          { version_num: 'c0b7d0e366e7' },
        ]);
      } finally {
        await db.end();
      }
    } finally {
      await admin.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`);
    }
  });

  it("a URL's username never reaches status or Events", async () => {
    const cluster = new FakeCluster();
    const listener = await passwordHarvester();
    cluster.secrets.set(
      'team-a/db',
      allowedUrl(`postgres://rp_user_7731:pw-77@127.0.0.1:${listener.port}/app?sslmode=disable`),
    );
    const result = await reconcile(resource(urlSpec), { ...deps(cluster), connectTimeoutMs: 2000 });
    expect(result.outcome).toBe('failed');
    const shown = JSON.stringify(cluster.writes) + JSON.stringify(cluster.events);
    expect(shown).toContain('ConnectionFailed');
    expect(shown).not.toContain('rp_user_7731');
    expect(shown).not.toContain('pw-77');
  });

  it('allowed-hosts host:port allows that port only; a host without a port allows any', async () => {
    const listener = await passwordHarvester();
    const other = await passwordHarvester();
    const creds = (allowedHosts: string): SecretObject => ({
      data: { username: 'rp_hosts', password: 'pw-hosts-1', host: 'db.internal' },
      annotations: { 'revisor.dev/allowed-migrations': '*', 'revisor.dev/allowed-hosts': allowedHosts },
    });
    const spec = (port: number) => ({
      host: '127.0.0.1',
      port,
      name: 'app',
      sslMode: 'disable',
      credentialsSecretRef: { name: 'creds' },
    });
    const run = async (allowedHosts: string, port: number) => {
      const cluster = new FakeCluster();
      cluster.secrets.set('team-a/creds', creds(allowedHosts));
      await reconcile(resource(spec(port)), { ...deps(cluster), connectTimeoutMs: 2000 });
      return ready(cluster.writes.at(-1))?.reason;
    };

    // The named port is allowed: the connection is tried (and the listener's cleartext request refused).
    expect(await run(`127.0.0.1:${listener.port}`, listener.port)).toBe('ConnectionFailed');
    expect(listener.connections()).toBe(1);
    // Another port of the same host is not: nothing is sent there.
    expect(await run(`127.0.0.1:${listener.port}`, other.port)).toBe('HostNotPermitted');
    expect(other.connections()).toBe(0);
    // A host without a port allows its every port.
    expect(await run('127.0.0.1', other.port)).toBe('ConnectionFailed');
    expect(other.connections()).toBe(1);
    expect(listener.received() + other.received()).not.toContain('pw-hosts-1');
  });

  it('a blocked step names its blockers in the condition and an Event, counts the time, and cancels them after blockers.cancelAfterSeconds', async () => {
    const url = await createTestDatabase();
    const cluster = new FakeCluster();
    cluster.secrets.set('team-a/db', allowedUrl(url));
    cluster.configMaps.set('team-a/chain', {
      '1.sql': sqlMigration('k1', null, 'CREATE TABLE k (id int);', 'DROP TABLE k;'),
      '2.sql': sqlMigration('k2', 'k1', 'ALTER TABLE k ADD COLUMN v int;', 'ALTER TABLE k DROP COLUMN v;'),
    });
    const spec = (targetRevision: string) => ({
      ...resource(urlSpec),
      spec: {
        database: urlSpec,
        migrations: { configMapRef: { name: 'chain' } },
        targetRevision,
        lockTimeoutMs: 1000,
        blockers: { reportAfterSeconds: 0, cancelAfterSeconds: 1 },
      },
    });
    const d = deps(cluster);
    expect((await reconcile(spec('k1'), d)).outcome).toBe('ready');
    const blocker = new pg.Client({ connectionString: url, application_name: 'long-report' });
    blocker.on('error', () => undefined);
    await blocker.connect();
    const running = blocker.query('SELECT pg_sleep(30) FROM k UNION ALL SELECT pg_sleep(30)').catch((e) => e);
    try {
      const result = await reconcile(
        { ...spec('k2'), metadata: { ...spec('k2').metadata, generation: 2 } },
        d,
      );
      expect(result.outcome).toBe('ready');
    } finally {
      await running;
      await blocker.end();
    }
    const waiting = cluster.writes
      .flatMap((w) => w.conditions ?? [])
      .find((c) => c.reason === 'WaitingForTableLock');
    expect(waiting?.message).toMatch(
      /upgrade of k2 waits for ACCESS EXCLUSIVE on k, blocked by pid \d+ \(.*application "long-report"/,
    );
    expect(cluster.events.map((e) => e.reason)).toEqual(
      expect.arrayContaining(['WaitingForTableLock', 'BlockerEnded']),
    );
    expect(cluster.events.find((e) => e.reason === 'BlockerEnded')?.message).toContain(
      'cancelled the query of pid',
    );
    const metrics = await d.metrics.registry.getSingleMetricAsString('revisor_step_blocked_seconds_total');
    expect(Number(/revisor_step_blocked_seconds_total\{[^}]*\} ([\d.]+)/.exec(metrics)?.[1])).toBeGreaterThan(
      0.5,
    );
  });
});
