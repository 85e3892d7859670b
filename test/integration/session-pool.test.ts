import { describe, expect, it } from 'vitest';
import { SessionPool } from '../../src/migrator/index.js';
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
    expect(pool.idleCount).toBe(1);

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

  it('closes instead of keeping a session returned inside a transaction, and other credentials get their own', async () => {
    const url = await createTestDatabase();
    const pool = new SessionPool(options);
    const open = pool.factory({ url, applicationName: 'pool-test', connectTimeoutMs: 5000 });
    const first = await pid(open);
    await first.session.query('BEGIN');
    await first.session.end();
    expect(pool.idleCount).toBe(0);
    const admin = await connect(url);
    const gone = await admin.query('SELECT 1 FROM pg_stat_activity WHERE pid = $1', [first.pid]);
    expect(gone.rowCount).toBe(0);

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
});
