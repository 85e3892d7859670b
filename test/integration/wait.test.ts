import { describe, expect, it } from 'vitest';
import { linearChain, runCli, startCli, writeChain } from '../support/cli.js';
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
