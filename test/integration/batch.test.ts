import { describe, expect, it } from 'vitest';
import { workKey } from '../../src/migrator/pg/lock.js';
import { sessionFactory } from '../../src/migrator/pg/pg-session.js';
import type { MigratorEvents, Session } from '../../src/migrator/run/migrator.js';
import { linearChain, sqlMigration, writeChain } from '../support/cli.js';
import { connect, createTestDatabase, tableNames, versionRows } from '../support/db.js';
import { migratorFor } from '../support/migrator.js';

/** Real sessions, counted: how many scripts and single queries the migrator sent. */
function countingConnect(url: string) {
  const open = sessionFactory({ url, applicationName: 'revisor test', connectTimeoutMs: 5000 });
  const counts = { scripts: 0, queries: 0 };
  const connect = async (): Promise<Session> => {
    const session = await open();
    return {
      query: (text, values) => {
        counts.queries++;
        return session.query(text, values);
      },
      script: (text, onRow) => {
        counts.scripts++;
        return session.script(text, onRow);
      },
      end: () => session.end(),
      backendKeyPid: () => session.backendKeyPid(),
    };
  };
  return { connect, counts };
}

function recordEvents() {
  const log: string[] = [];
  const events: MigratorEvents = {
    stepStarted: (step) => log.push(`start ${step.revision}`),
    stepFinished: (step, result) => log.push(`${result.status} ${step.revision}`),
    stepRetry: (step) => log.push(`retry ${step.revision}`),
  };
  return { log, events };
}

/** rev1..rev`n`, with `rev${at}` replaced by `upgrade`. */
async function chainWith(n: number, at: number, upgrade: string) {
  const files = linearChain(n);
  files[`${String(at).padStart(3, '0')}.sql`] = sqlMigration(
    `rev${at}`,
    `rev${at - 1}`,
    upgrade,
    'SELECT 1;',
  );
  return writeChain(files);
}

describe('consecutive steps run as scripts', () => {
  it('applies a long chain in a few scripts, each step with its own history row and events in order', async () => {
    const url = await createTestDatabase();
    const dir = await writeChain(linearChain(20));
    const { connect: open, counts } = countingConnect(url);
    const { log, events } = recordEvents();
    const migrator = await migratorFor(url, dir, { connect: open, events });
    const result = await migrator.upgrade('head');
    await migrator.close();
    expect(result.error).toBeUndefined();
    expect(result.results.map((r) => r.status)).toEqual(Array(20).fill('applied'));
    // Step by step this takes three round trips a step; scripts need far fewer.
    expect(counts.scripts).toBeGreaterThan(0);
    expect(counts.queries + counts.scripts).toBeLessThan(40);
    expect(log).toEqual(
      Array.from({ length: 20 }, (_, i) => [`start rev${i + 1}`, `applied rev${i + 1}`]).flat(),
    );

    const db = await connect(url);
    expect(await versionRows(db)).toEqual(['rev20']);
    const { rows } = await db.query(
      "SELECT revision, started_at, finished_at, duration_ms, heads_after, checksum, executed_by FROM revisor_history WHERE outcome = 'applied' ORDER BY id",
    );
    expect(rows.map((r) => r.revision)).toEqual(Array.from({ length: 20 }, (_, i) => `rev${i + 1}`));
    for (const [i, row] of rows.entries()) {
      expect(row.heads_after).toBe(`rev${i + 1}`);
      expect(row.checksum).toMatch(/^[0-9a-f]{64}$/);
      expect(row.executed_by).toBe('test');
      expect(row.finished_at.getTime()).toBeGreaterThanOrEqual(row.started_at.getTime());
      if (i > 0) expect(row.started_at.getTime()).toBeGreaterThanOrEqual(rows[i - 1].finished_at.getTime());
    }
    // Each step of a script notes its own start: not one shared transaction timestamp.
    expect(new Set(rows.map((r) => r.started_at.getTime())).size).toBe(20);
  });

  it('a step failing inside a script keeps the steps before it, names it, and runs nothing after it', async () => {
    const url = await createTestDatabase();
    const dir = await chainWith(12, 9, 'CREATE TABLE t9 (id int);\nSELECT 1/0;');
    const { log, events } = recordEvents();
    const migrator = await migratorFor(url, dir, { events });
    const result = await migrator.upgrade('head');
    await migrator.close();
    expect(result.error?.code).toBe('MigrationFailed');
    expect(result.error?.message).toContain('upgrade of rev9');
    expect(result.error?.message).toContain('division by zero');
    expect(result.error?.message).toContain('statement: SELECT 1/0');
    expect(result.results.map((r) => r.status)).toEqual([
      ...Array(8).fill('applied'),
      'failed',
      ...Array(3).fill('not-run'),
    ]);
    expect(log.filter((l) => l.endsWith('rev9'))).toEqual(['start rev9', 'failed rev9']);

    const db = await connect(url);
    expect(await versionRows(db)).toEqual(['rev8']);
    expect(await tableNames(db)).not.toContain('t9');
    const { rows } = await db.query('SELECT revision, outcome FROM revisor_history ORDER BY id');
    expect(rows.map((r) => `${r.revision} ${r.outcome}`)).toEqual([
      ...Array.from({ length: 8 }, (_, i) => `rev${i + 1} applied`),
      'rev9 failed',
    ]);
  });

  it('in the run-wide transaction, a failure inside a script rolls everything back', async () => {
    const url = await createTestDatabase();
    const dir = await chainWith(12, 9, 'SELECT 1/0;');
    const migrator = await migratorFor(url, dir, { transactionMode: 'all' });
    const result = await migrator.upgrade('head');
    await migrator.close();
    expect(result.error?.message).toContain('upgrade of rev9');
    expect(result.results.map((r) => r.status)).toEqual([
      ...Array(8).fill('rolled-back'),
      'failed',
      ...Array(3).fill('not-run'),
    ]);
    const db = await connect(url);
    expect(await versionRows(db)).toEqual([]);
    expect(await tableNames(db)).toEqual(['alembic_version', 'revisor_history']);
  });

  it('retries a step whose lock timed out inside a script on its own, once the blocker ends', async () => {
    for (const transactionMode of ['per-migration', 'all'] as const) {
      const url = await createTestDatabase();
      const blocker = await connect(url);
      await blocker.query('CREATE TABLE busy (id int)');
      await blocker.query('BEGIN');
      await blocker.query('SELECT * FROM busy');
      const dir = await chainWith(12, 9, 'ALTER TABLE busy ADD COLUMN note text;');
      const { log, events } = recordEvents();
      const migrator = await migratorFor(url, dir, {
        transactionMode,
        events,
        lockTimeoutMs: 100,
        lockRetries: 5,
        lockRetryPauseMs: 100,
      });
      const running = migrator.upgrade('head');
      setTimeout(() => void blocker.query('COMMIT'), 400);
      const result = await running;
      await migrator.close();
      expect(result.error).toBeUndefined();
      expect(log).toContain('retry rev9');
      const db = await connect(url);
      expect(await versionRows(db)).toEqual(['rev12']);
      const { rows } = await db.query(
        "SELECT count(*)::int AS n FROM information_schema.columns WHERE table_name = 'busy' AND column_name = 'note'",
      );
      expect(rows[0].n).toBe(1);
    }
  });

  it('a migration that edits the version table is caught inside the script and rolled back', async () => {
    const url = await createTestDatabase();
    const dir = await chainWith(12, 9, 'CREATE TABLE t9 (id int);\nDELETE FROM alembic_version;');
    const migrator = await migratorFor(url, dir);
    const result = await migrator.upgrade('head');
    await migrator.close();
    expect(result.error?.code).toBe('MigrationFailed');
    expect(result.error?.message).toContain('the version table changed under the upgrade of rev9');
    const db = await connect(url);
    expect(await versionRows(db)).toEqual(['rev8']);
    expect(await tableNames(db)).not.toContain('t9');
  });

  it("waits for a previous migrator's work session, which can outlive its lock session", async () => {
    const url = await createTestDatabase();
    const dir = await writeChain(linearChain(3));
    const orphan = await connect(url);
    await orphan.query("SET application_name = 'killed-migrator-work-session'");
    const { rows } = await orphan.query('SELECT current_database() AS db');
    await orphan.query('SELECT pg_advisory_lock($1::bigint)', [
      String(workKey(rows[0].db, 'public', 'alembic_version')),
    ]);
    const migrator = await migratorFor(url, dir, { lockWaitMs: 500 });
    const blocked = await migrator.upgrade('head');
    expect(blocked.error?.code).toBe('LockTimeout');
    expect(blocked.error?.message).toContain('killed-migrator-work-session');
    const db = await connect(url);
    expect(await tableNames(db)).toEqual([]);

    await orphan.end();
    const done = await migrator.upgrade('head');
    await migrator.close();
    expect(done.error).toBeUndefined();
    expect(await versionRows(db)).toEqual(['rev3']);
  });
});
