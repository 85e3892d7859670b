import { spawn } from 'node:child_process';
import pg from 'pg';
import { describe, expect, it, onTestFinished } from 'vitest';
import type { BlockedStep, Blocker, BlockerAction } from '../../src/migrator/index.js';
import { runCli, sqlMigration, writeChain } from '../support/cli.js';
import { connect, createTestDatabase, versionRows } from '../support/db.js';
import { migratorFor } from '../support/migrator.js';
import { startPostgresMajor, systemPgDumpMajor } from '../support/postgres-major.js';

/** A table, then a step that needs ACCESS EXCLUSIVE on it. */
const chain = () =>
  writeChain({
    '1.sql': sqlMigration('b1', null, 'CREATE TABLE t (id int PRIMARY KEY, v text);', 'DROP TABLE t;'),
    '2.sql': sqlMigration('b2', 'b1', 'ALTER TABLE t ADD COLUMN w int;', 'ALTER TABLE t DROP COLUMN w;'),
  });

/** A session of its own, as the blocking application, closed when the test ends. */
async function blockerSession(url: string, applicationName: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url, application_name: applicationName });
  client.on('error', () => undefined);
  await client.connect();
  onTestFinished(async () => {
    await client.end().catch(() => undefined);
  });
  return client;
}

interface Seen {
  blocked: { revision: string; blocked: BlockedStep; ms: number }[];
  ended: { blocker: Blocker; action: BlockerAction }[];
}

async function upgradeWatching(url: string, dir: string, settings: Parameters<typeof migratorFor>[2] = {}) {
  const seen: Seen = { blocked: [], ended: [] };
  const migrator = await migratorFor(url, dir, {
    lockTimeoutMs: 1000,
    lockRetries: 3,
    lockRetryPauseMs: 100,
    blockers: { reportAfterMs: 200, cancelAfterMs: null, terminate: false },
    events: {
      stepBlocked: (step, blocked, ms) => seen.blocked.push({ revision: step.revision, blocked, ms }),
      blockerEnded: (_step, blocker, action) => seen.ended.push({ blocker, action }),
    },
    ...settings,
  });
  onTestFinished(() => migrator.close());
  return { seen, result: migrator.upgrade('head') };
}

describe('a step that waits for a table lock names who blocks it', () => {
  it('an open transaction holding a row lock: named with its user, application, state, age and last command, never its values; the lock_timeout error names it too', async () => {
    const url = await createTestDatabase();
    const dir = await chain();
    expect((await (await migratorFor(url, dir)).upgrade('b1')).error).toBeUndefined();
    const report = await blockerSession(url, 'nightly-report');
    await report.query('BEGIN');
    await report.query("INSERT INTO t VALUES (1, 'secret-literal-4471')");

    const { seen, result } = await upgradeWatching(url, dir, { lockRetries: 1 });
    const run = await result;
    expect(run.error?.code).toBe('StepLockTimeout');
    const blocker = seen.blocked.at(-1)!.blocked.blockers[0]!;
    expect(blocker).toMatchObject({
      pid: (report as unknown as { processID: number }).processID,
      applicationName: 'nightly-report',
      state: 'idle in transaction',
      command: 'INSERT',
    });
    expect(blocker.transactionMs).toBeGreaterThan(100);
    expect(seen.blocked.at(-1)!.blocked.relation).toBe('t');
    expect(run.error?.message).toContain('nightly-report');
    expect(run.error?.message).toContain('idle in transaction');
    expect(run.error?.message).toContain('ACCESS EXCLUSIVE on t');
    expect(JSON.stringify(seen) + run.error?.message).not.toContain('secret-literal-4471');
    expect(await versionRows(await connect(url))).toEqual(['b1']);
  });

  it('--cancel-blockers-after cancels a long SELECT on the table, and the step goes on', async () => {
    const url = await createTestDatabase();
    const dir = await chain();
    expect((await (await migratorFor(url, dir)).upgrade('b1')).error).toBeUndefined();
    const longSelect = await blockerSession(url, 'dashboard');
    const bystander = await blockerSession(url, 'bystander');
    await bystander.query('BEGIN');
    await bystander.query('SELECT 1');
    const running = longSelect
      .query('SELECT pg_sleep(60) FROM t UNION ALL SELECT pg_sleep(60)')
      .catch((e) => e);

    const { seen, result } = await upgradeWatching(url, dir, {
      blockers: { reportAfterMs: 200, cancelAfterMs: 1500, terminate: false },
    });
    const run = await result;
    expect(run.error).toBeUndefined();
    expect(await versionRows(await connect(url))).toEqual(['b2']);
    expect(seen.ended).toHaveLength(1);
    expect(seen.ended[0]).toMatchObject({ action: 'cancelled', blocker: { applicationName: 'dashboard' } });
    expect(((await running) as { code?: string }).code).toBe('57014');
    // A session that blocked nothing was not touched.
    expect((await bystander.query('SELECT 1 AS ok')).rows).toEqual([{ ok: 1 }]);
  });

  it('an idle-in-transaction session is left without --terminate-blockers, and ended with it', async () => {
    const url = await createTestDatabase();
    const dir = await chain();
    expect((await (await migratorFor(url, dir)).upgrade('b1')).error).toBeUndefined();
    const idle = await blockerSession(url, 'forgotten-shell');
    await idle.query('BEGIN');
    await idle.query('SELECT * FROM t');

    const left = await upgradeWatching(url, dir, {
      lockRetries: 1,
      blockers: { reportAfterMs: 200, cancelAfterMs: 500, terminate: false },
    });
    expect((await left.result).error?.code).toBe('StepLockTimeout');
    expect(left.seen.ended.map((e) => e.action)).toEqual(['left']);

    const ended = await upgradeWatching(url, dir, {
      blockers: { reportAfterMs: 200, cancelAfterMs: 500, terminate: true },
    });
    expect((await ended.result).error).toBeUndefined();
    expect(ended.seen.ended).toMatchObject([
      { action: 'terminated', blocker: { applicationName: 'forgotten-shell' } },
    ]);
    expect(await versionRows(await connect(url))).toEqual(['b2']);
  });

  it('a role that may not cancel others is told so, and the run goes on as without the option', async () => {
    const url = await createTestDatabase();
    const dir = await chain();
    const admin = await connect(url);
    const database = new URL(url).pathname.slice(1);
    await admin.query(`CREATE ROLE mig_${database} LOGIN PASSWORD 'pw'`);
    await admin.query(`GRANT ALL ON DATABASE ${database} TO mig_${database}`);
    await admin.query(`GRANT ALL ON SCHEMA public TO mig_${database}`);
    onTestFinished(async () => {
      await admin.query(`DROP OWNED BY mig_${database}`).catch(() => undefined);
    });
    const asRole = new URL(url);
    asRole.username = `mig_${database}`;
    asRole.password = 'pw';
    expect((await (await migratorFor(asRole.toString(), dir)).upgrade('b1')).error).toBeUndefined();
    const other = await blockerSession(url, 'superuser-report');
    const running = other.query('SELECT pg_sleep(3) FROM t UNION ALL SELECT pg_sleep(3)').catch((e) => e);

    const { seen, result } = await upgradeWatching(asRole.toString(), dir, {
      lockTimeoutMs: 1000,
      lockRetries: 4,
      blockers: { reportAfterMs: 200, cancelAfterMs: 300, terminate: false },
    });
    const run = await result;
    await running;
    expect(seen.ended.map((e) => e.action)).toEqual(['not-permitted']);
    // The blocker finished on its own; the step then ran.
    expect(run.error).toBeUndefined();
    expect(await versionRows(admin)).toEqual(['b2']);
  });

  it('the CLI names a pg_dump in progress as the blocker, in its log and its error', async () => {
    const major = systemPgDumpMajor();
    expect(major, 'pg_dump is installed by scripts/test-deps.sh').not.toBeNull();
    const server = await startPostgresMajor(15);
    onTestFinished(() => server.stop());
    const admin = await connect(server.url);
    await admin.query('CREATE DATABASE dumped');
    const url = server.url.replace(/\/postgres$/, '/dumped');
    const dir = await chain();
    expect((await runCli(['upgrade', 'b1'], { DATABASE_URL: url, REVISOR_MIGRATIONS: dir })).code).toBe(0);
    const db = await connect(url);
    await db.query("INSERT INTO t SELECT g, repeat('x', 200) FROM generate_series(1, 200000) g");
    // pg_dump writes into a pipe nobody reads: it stops mid-COPY, holding its locks, as a
    // dump to a slow disk or network does.
    const dump = spawn('pg_dump', ['--data-only', '-t', 't', url], { stdio: ['ignore', 'pipe', 'ignore'] });
    dump.stdout.pause();
    onTestFinished(() => {
      dump.kill('SIGKILL');
    });
    await expect
      .poll(
        async () =>
          (
            await db.query(
              "SELECT 1 FROM pg_stat_activity WHERE application_name = 'pg_dump' AND state = 'active'",
            )
          ).rowCount,
        { timeout: 20_000 },
      )
      .toBe(1);

    const run = await runCli(
      ['upgrade', 'head', '--lock-timeout', '1s', '--lock-retries', '1', '--report-blockers-after', '300ms'],
      {
        DATABASE_URL: url,
        REVISOR_MIGRATIONS: dir,
        REVISOR_LOG_FORMAT: 'json',
      },
    );
    expect(run.code).toBe(23);
    expect(run.stderr).toMatch(/application "pg_dump"[^)]*active[^)]*running COPY/);
    expect(run.stdout + run.stderr).toContain('"blockers"');
    expect(await versionRows(db)).toEqual(['b1']);
  }, 60_000);

  it("looking for blockers leaves no snapshot on the lock's transaction (it would hold back vacuum and CREATE INDEX CONCURRENTLY)", async () => {
    const url = await createTestDatabase();
    const dir = await chain();
    expect((await (await migratorFor(url, dir)).upgrade('b1')).error).toBeUndefined();
    const report = await blockerSession(url, 'held-open');
    await report.query('BEGIN');
    await report.query('SELECT * FROM t');
    const observer = await connect(url);
    const { seen, result } = await upgradeWatching(url, dir, { lockRetries: 1 });
    const lockSessionXmins: (string | null)[] = [];
    const deadline = Date.now() + 2500;
    while (Date.now() < deadline) {
      const { rows } = await observer.query<{ xmin: string | null }>(
        `SELECT a.backend_xmin::text AS xmin FROM pg_stat_activity a JOIN pg_locks l ON l.pid = a.pid
          WHERE l.locktype = 'advisory' AND l.granted AND l.mode = 'ExclusiveLock' AND a.state = 'idle in transaction'`,
      );
      for (const r of rows) lockSessionXmins.push(r.xmin);
      await new Promise((r) => setTimeout(r, 20));
    }
    await result;
    expect(seen.blocked.length).toBeGreaterThan(0);
    expect(lockSessionXmins.length).toBeGreaterThan(10);
    expect(lockSessionXmins.filter((x) => x !== null)).toEqual([]);
  });
});
