import { describe, expect, it } from 'vitest';
import {
  defaultTables,
  Migrator,
  parseSqlMigration,
  RevisionGraph,
  runDefaults,
  SessionPool,
} from '../../src/migrator/index.js';
import { sqlMigration } from '../support/cli.js';
import { connect, createTestDatabase } from '../support/db.js';

const pid = async (open: () => Promise<import('../../src/migrator/run/session.js').Session>) => {
  const session = await open();
  const { rows } = await session.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
  return { session, pid: rows[0]!.pid };
};

const options = { idleTimeoutMs: 60_000, maxIdlePerDatabase: 1, maxIdle: 10 };

describe('SessionPool on a real server', () => {
  it('lends the same backend again, reset: settings and advisory locks do not carry over', async () => {
    const url = await createTestDatabase();
    const pool = new SessionPool(options);
    const open = pool.factory({ url, applicationName: 'pool-test', connectTimeoutMs: 5000 });
    const first = await pid(open);
    await first.session.query("SET statement_timeout = '7s'");
    await first.session.query('SELECT pg_advisory_lock(4242)');
    await first.session.end();
    // The reset happens after end() resolves, off the caller's time.
    await expect.poll(() => pool.idleCount).toBe(1);

    const second = await pid(open);
    expect(second.pid).toBe(first.pid);
    const { rows } = await second.session.query<{ statement_timeout: string }>('SHOW statement_timeout');
    expect(rows[0]!.statement_timeout).toBe('0');
    const admin = await connect(url);
    const locks = await admin.query("SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND objid = 4242");
    expect(locks.rowCount).toBe(0);
    await second.session.end();
    await pool.close();
    expect(pool.idleCount).toBe(0);
  });

  it('full, keeps the sessions it holds: a cycle over more databases than it holds still finds some', async () => {
    const urls = await Promise.all([createTestDatabase(), createTestDatabase(), createTestDatabase()]);
    const pool = new SessionPool({ ...options, maxIdle: 2 });
    const opens = urls.map((url) =>
      pool.factory({ url, applicationName: 'pool-test', connectTimeoutMs: 5000 }),
    );
    // Each session back in the pool (or closed) before the next is asked for.
    const cycle = async (idleAfter: (n: number) => number) => {
      // A backend is its pid and start: a closed one's pid may be given again at once.
      const pids: string[] = [];
      for (const open of opens) {
        const session = await open();
        const { rows } = await session.query<{ backend: string }>(
          "SELECT pid || '@' || backend_start AS backend FROM pg_stat_activity WHERE pid = pg_backend_pid()",
        );
        pids.push(rows[0]!.backend);
        await session.end();
        await expect.poll(() => pool.idleCount).toBe(idleAfter(pids.length));
      }
      return pids;
    };
    const first = await cycle((n) => Math.min(2, n));
    // Full when the third came back: its session closed, the two before it stayed.
    const admin = await connect(urls[0]!);
    const third = new URL(urls[2]!).pathname.slice(1);
    const onThird = async () =>
      (await admin.query('SELECT 1 FROM pg_stat_activity WHERE datname = $1', [third])).rowCount;
    await expect.poll(onThird).toBe(0);
    const second = await cycle(() => 2);
    expect(second.slice(0, 2)).toEqual(first.slice(0, 2));
    await pool.close();
  });

  it('closes instead of keeping a session returned inside a transaction, and other credentials get their own', async () => {
    const url = await createTestDatabase();
    const pool = new SessionPool(options);
    const open = pool.factory({ url, applicationName: 'pool-test', connectTimeoutMs: 5000 });
    const first = await pid(open);
    await first.session.query('BEGIN');
    await first.session.end();
    const admin = await connect(url);
    const alive = async () =>
      (await admin.query('SELECT 1 FROM pg_stat_activity WHERE pid = $1', [first.pid])).rowCount;
    await expect.poll(alive).toBe(0);
    expect(pool.idleCount).toBe(0);

    const second = await pid(open);
    await second.session.end();
    const other = pool.factory({ url, applicationName: 'another-resource', connectTimeoutMs: 5000 });
    const third = await pid(other);
    expect(third.pid).not.toBe(second.pid);
    await third.session.end();
    await pool.close();
  });

  it('closes idle sessions after the idle timeout, and keeps none with maxIdle 0', async () => {
    const url = await createTestDatabase();
    const admin = await connect(url);
    const alive = async (p: number) =>
      (await admin.query('SELECT 1 FROM pg_stat_activity WHERE pid = $1', [p])).rowCount === 1;

    const short = new SessionPool({ ...options, idleTimeoutMs: 100 });
    const first = await pid(short.factory({ url, applicationName: 'pool-test', connectTimeoutMs: 5000 }));
    await first.session.end();
    expect(await alive(first.pid)).toBe(true);
    await expect.poll(() => alive(first.pid), { timeout: 5000 }).toBe(false);
    expect(short.idleCount).toBe(0);

    const none = new SessionPool({ ...options, maxIdle: 0 });
    const open = none.factory({ url, applicationName: 'pool-test', connectTimeoutMs: 5000 });
    const a = await pid(open);
    await a.session.end();
    const b = await pid(open);
    expect(b.pid).not.toBe(a.pid);
    await b.session.end();
  });

  it('makes way when the server is out of connection slots: idle sessions close, and fewer are kept after', async () => {
    const urls = await Promise.all([1, 2, 3, 4].map(() => createTestDatabase()));
    const admin = await connect(urls[0]!);
    const role = `pool_limit_${Math.random().toString(36).slice(2, 10)}`;
    await admin.query(`CREATE ROLE ${role} LOGIN PASSWORD 'pool-limit-pw' CONNECTION LIMIT 3`);
    const asRole = urls.map((u) => {
      const url = new URL(u);
      url.username = role;
      url.password = 'pool-limit-pw';
      return url.toString();
    });
    const pool = new SessionPool({ ...options, maxIdle: 100 });
    const opens = asRole.map((url) =>
      pool.factory({ url, applicationName: 'pool-limit', connectTimeoutMs: 5000 }),
    );
    for (const open of opens.slice(0, 3)) await (await open()).end();
    await expect.poll(() => pool.idleCount).toBe(3);

    // A fourth database: the role's limit refuses it (53300) until an idle session makes way.
    const fourth = await pid(opens[3]!);
    expect(pool.idleCount).toBe(2);
    await fourth.session.end();
    // Three idle sessions would fill the role's slots again: the pool keeps what it learned,
    // and the fourth's backend closes once reset.
    const ofRole = async () =>
      (await admin.query('SELECT 1 FROM pg_stat_activity WHERE usename = $1', [role])).rowCount;
    await expect.poll(ofRole).toBe(2);
    expect(pool.idleCount).toBe(2);

    // With nothing idle to close, the refusal is the caller's, classified.
    const held = await Promise.all(opens.slice(0, 3).map((open) => open()));
    await expect(opens[3]!()).rejects.toMatchObject({ code: 'ConnectionFailed' });
    await Promise.all(held.map((session) => session.end()));
    await pool.close();
  });

  it('with a shared name, serves every resource of a database from one session, and a run names itself on its lock session', async () => {
    const url = await createTestDatabase();
    const pool = new SessionPool({ ...options, applicationName: 'revisor controller' });
    const forResource = (name: string) =>
      pool.factory({ url, applicationName: `revisor controller ns/${name}`, connectTimeoutMs: 5000 });
    const first = await pid(forResource('a'));
    await first.session.end();
    const second = await pid(forResource('b'));
    expect(second.pid).toBe(first.pid);
    const { rows } = await second.session.query<{ application_name: string }>('SHOW application_name');
    expect(rows[0]!.application_name).toBe('revisor controller');
    await second.session.end();

    // A step that sleeps, so the lock session can be seen while it holds the lock.
    const graph = RevisionGraph.build([
      parseSqlMigration(sqlMigration('slow', null, 'SELECT pg_sleep(1.5);', 'SELECT 1;'), '1.sql'),
    ]);
    const migrator = new Migrator({
      ...runDefaults,
      graph,
      connect: forResource('a'),
      tables: defaultTables,
      executedBy: 'session-pool-test',
      allowChecksumMismatch: false,
      transactionMode: 'per-migration',
      applicationName: 'revisor controller ns/a',
    });
    const run = migrator.upgrade('head');
    const admin = await connect(url);
    const named = async () =>
      (await admin.query("SELECT 1 FROM pg_stat_activity WHERE application_name = 'revisor controller ns/a'"))
        .rowCount;
    await expect.poll(named, { timeout: 5000, interval: 50 }).toBe(1);
    expect((await run).error).toBeUndefined();
    await migrator.close();
    // The name went with the lock transaction.
    expect(await named()).toBe(0);
    await pool.close();
  });
});
