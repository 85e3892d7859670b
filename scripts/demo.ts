import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { defaultEmbeddedDir, startEmbedded } from '../src/cli/embedded-postgres.js';
import { operatorDemo } from './demo-operator.js';

/**
 * npm run demo: the embedded chain on the embedded PostgreSQL, in a fresh database,
 * through the real CLI: upgrade, history, current, one step down and up again, then the
 * chain's check (the up/down/up staircase on a scratch database) and lint; then, when the
 * test cluster's binaries are built, the operator (scripts/demo-operator.ts).
 */
const bin = fileURLToPath(new URL('../../bin/revisor.js', import.meta.url));
const server = await startEmbedded(defaultEmbeddedDir());
const admin = new pg.Client({ connectionString: server.url });
await admin.connect();
await admin.query('DROP DATABASE IF EXISTS revisor_demo WITH (FORCE)');
await admin.query('CREATE DATABASE revisor_demo');
await admin.end();

const env = { ...process.env, DATABASE_URL: server.urlFor('revisor_demo'), REVISOR_LOG_LEVEL: 'warn' };
function revisor(...args: string[]): void {
  process.stdout.write(`\n$ revisor ${args.join(' ')}\n`);
  const result = spawnSync(process.execPath, [bin, ...args], { env, stdio: 'inherit' });
  if (result.status !== 0) {
    process.stderr.write(`demo: "revisor ${args.join(' ')}" exited ${result.status}\n`);
    process.exit(result.status ?? 1);
  }
}

process.stdout.write(`embedded PostgreSQL in ${server.dir} (port ${server.port}), database revisor_demo\n`);
revisor('upgrade', 'head');
revisor('history');
revisor('current');
revisor('downgrade', '-1');
revisor('current');
revisor('upgrade', 'head');
revisor('history', '--audit');
revisor('upgrade', 'head');
revisor('check');
revisor('lint');
await operatorDemo(server, bin);
