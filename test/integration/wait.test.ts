import { describe, expect, it } from 'vitest';
import { linearChain, runCli, sqlMigration, startCli, writeChain } from '../support/cli.js';
import { createTestDatabase } from '../support/db.js';

describe('revisor wait', () => {
  it('returns once the database reaches the revision, reading only the version table', async () => {
    const url = await createTestDatabase();
    const dir = await writeChain(linearChain(3));
    const env = { DATABASE_URL: url, REVISOR_MIGRATIONS: dir };
    const waiting = startCli(['wait', '--revision', 'rev2', '--interval', '200ms', '--timeout', '30s'], env);
    await new Promise((r) => setTimeout(r, 800));
    expect(waiting.child.exitCode).toBeNull();
    expect((await runCli(['upgrade', 'rev3'], env)).code).toBe(0);
    const result = await waiting.done;
    expect(result.code).toBe(0);
    // Each step commits on its own, so the wait may see rev2 before rev3 lands.
    expect(result.stdout).toMatch(/the database is at rev[23], which includes rev2/);
  });

  it('an image older than the database (a rollback) passes once what it needs was applied and kept', async () => {
    const url = await createTestDatabase();
    const newer = await writeChain(linearChain(3));
    const older = await writeChain(linearChain(2));
    expect((await runCli(['upgrade', 'head'], { DATABASE_URL: url, REVISOR_MIGRATIONS: newer })).code).toBe(
      0,
    );
    const wait = () =>
      runCli(['wait', '--revision', 'head', '--interval', '100ms', '--timeout', '1s'], {
        DATABASE_URL: url,
        REVISOR_MIGRATIONS: older,
      });
    const ahead = await wait();
    expect(ahead.code, ahead.stderr).toBe(0);
    // Reverted below what the older image needs: it waits again.
    expect((await runCli(['downgrade', 'rev1'], { DATABASE_URL: url, REVISOR_MIGRATIONS: newer })).code).toBe(
      0,
    );
    expect((await wait()).code).toBe(32);
  });

  it('--phase pre-deploy waits only for the revisions new pods need, not the post-deploy ones', async () => {
    const url = await createTestDatabase();
    const dir = await writeChain({
      '1.sql': sqlMigration('p1', null, 'CREATE TABLE p (id int);', 'DROP TABLE p;'),
      '2.sql': sqlMigration('p2', 'p1', 'ALTER TABLE p ADD COLUMN v int;', 'ALTER TABLE p DROP COLUMN v;'),
      '3.sql': sqlMigration(
        'p3',
        'p2',
        'ALTER TABLE p DROP COLUMN v;',
        'ALTER TABLE p ADD COLUMN v int;',
      ).replace('-- migrate:upgrade', '-- phase: post-deploy\n-- migrate:upgrade'),
    });
    const env = { DATABASE_URL: url, REVISOR_MIGRATIONS: dir };
    expect((await runCli(['upgrade', 'head', '--phase', 'pre-deploy'], env)).code).toBe(0);
    const args = ['wait', '--revision', 'head', '--interval', '100ms', '--timeout', '1s'];
    expect((await runCli([...args, '--phase', 'pre-deploy'], env)).code).toBe(0);
    expect((await runCli(args, env)).code).toBe(32);
  });

  it('fails at its deadline with what it saw and what to check', async () => {
    const url = await createTestDatabase();
    const dir = await writeChain(linearChain(3));
    const env = { DATABASE_URL: url, REVISOR_MIGRATIONS: dir };
    expect((await runCli(['upgrade', 'rev1'], env)).code).toBe(0);
    const result = await runCli(
      ['wait', '--revision', 'head', '--interval', '100ms', '--timeout', '1s'],
      env,
    );
    expect(result.code).toBe(32);
    expect(result.stderr).toContain('[WaitTimeout]');
    expect(result.stderr).toContain('waiting for revision rev3: the database is at rev1');
    expect(result.stderr).toContain('hook Job logs');
  });

  it('keeps trying while the database is unreachable, and says so at the deadline', async () => {
    const dir = await writeChain(linearChain(1));
    const result = await runCli(
      ['wait', '--revision', 'rev1', '--interval', '100ms', '--timeout', '1s', '--connect-timeout', '500ms'],
      {
        DATABASE_URL: 'postgres://app:pw@127.0.0.1:1/app',
        REVISOR_MIGRATIONS: dir,
      },
    );
    expect(result.code).toBe(32);
    expect(result.stderr).toContain('cannot connect to PostgreSQL at 127.0.0.1:1/app');
  });
});
