import { describe, expect, it } from 'vitest';
import { runCli, sqlMigration, writeChain } from '../support/cli.js';
import { connect, createTestDatabase, versionRows } from '../support/db.js';
import { passwordHarvester } from '../support/pg-listener.js';

/** --refuse-insecure-auth: what the operator's Jobs run with unless the Secret allows insecure auth. */
describe('refusing cleartext password authentication in the CLI', () => {
  const password = 'hunter2-not-for-harvesters';

  it('sends no password to a server asking for it in cleartext, and says what to do', async () => {
    const listener = await passwordHarvester();
    const dir = await writeChain({ '1.sql': sqlMigration('rev1', null, 'SELECT 1;', 'SELECT 1;') });
    const url = `postgres://app:${password}@127.0.0.1:${listener.port}/app?sslmode=disable`;

    const refused = await runCli(['upgrade'], {
      DATABASE_URL: url,
      REVISOR_MIGRATIONS: dir,
      REVISOR_REFUSE_INSECURE_AUTH: 'true',
    });
    expect(refused.code).toBe(20);
    expect(refused.stderr).toContain('asked for a cleartext password');
    expect(refused.stderr).not.toContain(password);
    expect(listener.connections()).toBeGreaterThan(0);
    expect(listener.received()).not.toContain(password);

    // Without the flag the CLI answers as libpq does, which is what the flag is for.
    // (The listener never answers the password: the connect timeout ends the run.)
    await runCli(['upgrade', '--connect-timeout', '1s'], { DATABASE_URL: url, REVISOR_MIGRATIONS: dir });
    expect(listener.received()).toContain(password);
  });

  it('connects as usual to a server that does not ask for an insecure password', async () => {
    const url = await createTestDatabase();
    const dir = await writeChain({
      '1.sql': sqlMigration('rev1', null, 'CREATE TABLE t (id int);', 'DROP TABLE t;'),
    });
    const run = await runCli(['upgrade', '--refuse-insecure-auth'], {
      DATABASE_URL: url,
      REVISOR_MIGRATIONS: dir,
    });
    expect(run.code).toBe(0);
    expect(await versionRows(await connect(url))).toEqual(['rev1']);
  });
});
