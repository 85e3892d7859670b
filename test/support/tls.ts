import { execFileSync } from 'node:child_process';
import { chown, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import { testDir } from './temp-dir.js';

/**
 * Turns TLS on in the test PostgreSQL with a fresh self-signed certificate for
 * "localhost" (openssl), and returns the certificate's path, which is also its own CA.
 * Clients that ask for no TLS are unaffected, so the shared server stays usable.
 */
export async function enableServerTls(adminUrl: string): Promise<{ caFile: string }> {
  const dir = await testDir('revisor-tls-');
  const caFile = join(dir, 'server.crt');
  const keyFile = join(dir, 'server.key');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '2',
      '-subj',
      '/CN=localhost',
      '-addext',
      'subjectAltName=DNS:localhost',
      '-keyout',
      keyFile,
      '-out',
      caFile,
    ],
    { stdio: 'ignore' },
  );
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    const { rows } = await admin.query<{ data_directory: string }>('SHOW data_directory');
    const dataDir = rows[0]!.data_directory;
    // The server reads its key only when it owns it and no one else may read it.
    const owner = await stat(dataDir);
    for (const [from, name] of [
      [caFile, 'revisor-test.crt'],
      [keyFile, 'revisor-test.key'],
    ] as const) {
      const target = join(dataDir, name);
      await writeFile(target, await readFile(from), { mode: 0o600 });
      await chown(target, owner.uid, owner.gid);
    }
    await admin.query("ALTER SYSTEM SET ssl_cert_file = 'revisor-test.crt'");
    await admin.query("ALTER SYSTEM SET ssl_key_file = 'revisor-test.key'");
    await admin.query('ALTER SYSTEM SET ssl = on');
    await admin.query('SELECT pg_reload_conf()');
  } finally {
    await admin.end();
  }
  return { caFile };
}
