import { spawnSync } from 'node:child_process';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defaultEmbeddedDir, startEmbedded } from '../src/cli/embedded-postgres.js';
import { operatorDemo } from './demo-operator.js';

/**
 * npm run demo: the embedded chain through the real CLI on the database `npx revisor` uses
 * by default (the embedded PostgreSQL in ./.revisor/postgres), so the commands a newcomer
 * types next see what the demo did: upgrade, history, current, one step down and up again,
 * the chain's check and lint; then the operator (scripts/demo-operator.ts), building the
 * local API server's binaries on first use.
 */
const bin = fileURLToPath(new URL('../../bin/revisor.js', import.meta.url));
// The demo shows the CLI's default, whatever this shell points DATABASE_URL or PG* at.
// Its logs read the same on a terminal and in a captured transcript.
const env = {
  REVISOR_LOG_FORMAT: 'text',
  ...Object.fromEntries(
    Object.entries(process.env).filter(([name]) => name !== 'DATABASE_URL' && !/^PG[A-Z]+$/.test(name)),
  ),
};
const server = await startEmbedded(defaultEmbeddedDir(env));
const where = relative(process.cwd(), server.dir) || server.dir;

function revisor(...args: string[]): void {
  process.stdout.write(`\n$ npx revisor ${args.join(' ')}\n`);
  const result = spawnSync(process.execPath, [bin, ...args], { env, stdio: 'inherit' });
  if (result.status !== 0) {
    process.stderr.write(`demo: "revisor ${args.join(' ')}" exited ${result.status}\n`);
    process.exit(result.status ?? 1);
  }
}

process.stdout.write(
  `== the CLI, on the embedded PostgreSQL in ${where} (127.0.0.1:${server.port}), as npx revisor uses it\n`,
);
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
const operator = await operatorDemo(server, bin, env);
process.stdout.write(
  `\n== done. ${operator === 'ran' ? 'The local API server, etcd and the controller have stopped. ' : ''}` +
    `Left running: the embedded PostgreSQL in ${where} (127.0.0.1:${server.port}), with the demo's database:\n` +
    '   npx revisor current          continues where the demo stopped (npx revisor --help lists the rest)\n' +
    '   npx revisor embedded stop    stops it (its data stays for the next start)\n',
);
if (operator === 'failed') process.exitCode = 1;
