import { describe, expect, it } from 'vitest';
import { runCli, sqlMigration, writeChain } from '../support/cli.js';
import { adminUrl, connect, createTestDatabase, versionRows } from '../support/db.js';
import { enableServerTls } from '../support/tls.js';

/** libpq's sslmode meanings in a URL, against a server whose certificate is self-signed for "localhost". */
describe('sslmode in a database URL', () => {
  it('require encrypts without verifying; verify-ca checks the chain only; verify-full the host name too', async () => {
    const { caFile } = await enableServerTls(adminUrl());
    const url = await createTestDatabase();
    // The step records whether its own session is encrypted.
    const dir = await writeChain({
      '1.sql': sqlMigration(
        'rev1',
        null,
        'CREATE TABLE seen AS SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid();',
        'DROP TABLE seen;',
      ),
    });
    const withMode = (query: string, host = '127.0.0.1') => {
      const u = new URL(url);
      u.hostname = host;
      u.search = query;
      return u.toString();
    };
    const run = (dbUrl: string) => runCli(['upgrade'], { DATABASE_URL: dbUrl, REVISOR_MIGRATIONS: dir });

    // The server's self-signed certificate is not trusted: require connects anyway, encrypted.
    const required = await run(withMode('sslmode=require'));
    expect(required.stderr).not.toContain('SECURITY WARNING');
    expect(required.code).toBe(0);
    const db = await connect(url);
    expect(await versionRows(db)).toEqual(['rev1']);
    expect((await db.query('SELECT ssl FROM seen')).rows).toEqual([{ ssl: true }]);

    const unverified = await run(withMode('sslmode=verify-full'));
    expect(unverified.code).toBe(20);
    expect(unverified.stderr).toMatch(/self[- ]signed/);

    // The certificate names localhost, not 127.0.0.1: verify-ca accepts it, verify-full does not.
    expect((await run(withMode(`sslmode=verify-ca&sslrootcert=${caFile}`))).code).toBe(0);
    const wrongName = await run(withMode(`sslmode=verify-full&sslrootcert=${caFile}`));
    expect(wrongName.code).toBe(20);
    expect(wrongName.stderr).toContain("does not match certificate's altnames");
    expect((await run(withMode(`sslmode=verify-full&sslrootcert=${caFile}`, 'localhost'))).code).toBe(0);

    const prefer = await run(withMode('sslmode=prefer'));
    expect(prefer.code).toBe(2);
    expect(prefer.stderr).toContain('sslmode "prefer" is not supported');
  });
});
