import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { describe, expect, it, onTestFinished } from 'vitest';
import { startEmbedded, stopEmbedded } from '../../src/cli/embedded-postgres.js';
import { runCli, sqlMigration, writeChain } from '../support/cli.js';
import { connect, createTestDatabase, versionRows } from '../support/db.js';
import { migratorFor } from '../support/migrator.js';
import { startPgBouncer } from '../support/pgbouncer.js';

/** Steps that each record the backend that ran them: a step run twice shows as a duplicate key. */
function recordingChain(n: number): Record<string, string> {
  const files: Record<string, string> = {
    '000.sql': sqlMigration('c0', null, 'CREATE TABLE ran (revision text PRIMARY KEY);', 'DROP TABLE ran;'),
  };
  for (let i = 1; i <= n; i++) {
    files[`${String(i).padStart(3, '0')}.sql`] = sqlMigration(
      `c${i}`,
      `c${i - 1}`,
      `INSERT INTO ran VALUES ('c${i}');\nSELECT pg_sleep(0.05);`,
      `DELETE FROM ran WHERE revision = 'c${i}';`,
    );
  }
  return files;
}

async function appliedOnce(url: string, steps: number): Promise<void> {
  const db = await connect(url);
  expect(await versionRows(db)).toEqual([`c${steps}`]);
  const ran = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM ran');
  expect(ran.rows[0]!.n).toBe(steps);
  const history = await db.query<{ n: number }>(
    "SELECT count(*)::int AS n FROM revisor_history WHERE outcome = 'applied' AND direction = 'upgrade'",
  );
  expect(history.rows[0]!.n).toBe(steps + 1);
}

describe('what a migrator costs the database while it waits', () => {
  it('100 migrators at once against max_connections = 100 (3 reserved for superusers) all succeed, each step once', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'revisor-budget-pg-'));
    await chmod(dir, 0o755);
    const server = await startEmbedded(join(dir, 'data'), { maxConnections: 100 });
    onTestFinished(async () => {
      await stopEmbedded(server.dir, { remove: true });
      await rm(dir, { recursive: true, force: true });
    });
    // An ordinary role: the superuser reserve is not its to use.
    const admin = new pg.Client({ connectionString: server.url });
    await admin.connect();
    await admin.query("CREATE ROLE app LOGIN PASSWORD 'app-pw'");
    await admin.query('CREATE DATABASE budget OWNER app');
    await admin.end();
    const url = new URL(server.url);
    url.username = 'app';
    url.password = 'app-pw';
    url.pathname = '/budget';

    const chain = await writeChain(recordingChain(10));
    const migrators = await Promise.all(
      Array.from({ length: 100 }, () =>
        migratorFor(url.toString(), chain, { lockWaitMs: 120_000, connectTimeoutMs: 60_000 }),
      ),
    );
    const peak = { sessions: 0 };
    const watcher = new pg.Client({ connectionString: server.url });
    await watcher.connect();
    let watching = true;
    const watching$ = (async () => {
      while (watching) {
        const { rows } = await watcher.query<{ n: number }>(
          "SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = 'budget'",
        );
        peak.sessions = Math.max(peak.sessions, rows[0]!.n);
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    try {
      const results = await Promise.all(migrators.map((m) => m.upgrade('head').finally(() => m.close())));
      for (const result of results) expect(result.error?.message).toBeUndefined();
    } finally {
      watching = false;
      await watching$;
      await watcher.end();
    }
    await appliedOnce(url.toString(), 10);
    expect(peak.sessions).toBeLessThanOrEqual(97);
  }, 180_000);

  it.each([
    ['session', 3],
    ['transaction', 2],
  ] as const)(
    '20 migrators through PgBouncer in %s mode with a pool of %i: no deadlock, each step once',
    async (poolMode, poolSize) => {
      const url = await createTestDatabase();
      const bouncer = await startPgBouncer(url, { poolMode, poolSize, queryWaitTimeoutS: 60 });
      const chain = await writeChain(recordingChain(6));
      const env = { DATABASE_URL: bouncer.url(url), REVISOR_MIGRATIONS: chain, REVISOR_LOG_LEVEL: 'warn' };
      const runs = await Promise.all(
        Array.from({ length: 20 }, () => runCli(['upgrade', 'head', '--lock-wait', '120s'], env)),
      );
      for (const run of runs) expect(run.code, run.stderr).toBe(0);
      await appliedOnce(url, 6);
    },
    180_000,
  );

  it('a session-mode pool of one fails within --connect-timeout, naming the pool size a run needs', async () => {
    const url = await createTestDatabase();
    const bouncer = await startPgBouncer(url, { poolMode: 'session', poolSize: 1, queryWaitTimeoutS: 60 });
    const chain = await writeChain(recordingChain(2));
    const started = Date.now();
    const run = await runCli(['upgrade', 'head', '--connect-timeout', '3s'], {
      DATABASE_URL: bouncer.url(url),
      REVISOR_MIGRATIONS: chain,
    });
    expect(Date.now() - started).toBeLessThan(20_000);
    expect(run.code).toBe(20);
    expect(run.stderr).toContain('raise the pool size for this database and user to at least 2');
    const db = await connect(url);
    expect((await db.query("SELECT to_regclass('ran') AS t")).rows[0].t).toBeNull();
  }, 60_000);
});
