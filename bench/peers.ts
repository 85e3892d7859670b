import { spawnSync } from 'node:child_process';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { startEmbedded, stopEmbedded } from '../src/cli/embedded-postgres.js';
import { downgradeSql, upgradeSql, writeRevisorChain } from './bench-chain.js';
import { loadLine, measure, median } from './measure.js';

/**
 * npm run bench:peers [-- N]: per-migration apply of the same N steps by revisor and by two
 * peers — dbmate (a Go binary) and node-pg-migrate (Node, as revisor) — each in its
 * transaction-per-migration mode, beside `psql -1 -f` of the same SQL, in turns on fresh
 * databases of one server, so a slow spell of the machine hits every tool alike. Node's own
 * start is printed too: the part of a Node tool's time no code of its own can remove.
 * Asserts nothing; prints medians, ratios and every run.
 */
const migrations = Number(process.argv[2] ?? process.env['BENCH_MIGRATIONS'] ?? 200);
const rounds = Number(process.env['BENCH_PEER_RUNS'] ?? 9);
const revisorBin = fileURLToPath(new URL('../../bin/revisor.js', import.meta.url));
const require = createRequire(import.meta.url);
// Each peer as its users run it, resolved from this project's devDependencies: dbmate's Go
// binary itself (its npm package's launcher would add a Node start to it), node-pg-migrate's CLI.
const dbmateBin = join(
  dirname(require.resolve(`@dbmate/linux-${process.arch}/package.json`)),
  'bin',
  'dbmate',
);
const nodePgMigrateBin = join(
  dirname(require.resolve('node-pg-migrate/package.json')),
  'bin',
  'node-pg-migrate.js',
);

if (spawnSync('psql', ['--version']).status !== 0) {
  process.stderr.write('bench: psql is needed for the floor (apt-get install postgresql-client)\n');
  process.exit(3);
}

/**
 * The same steps as one SQL file each, in a peer's format: its file name for step i, and
 * the markers it splits a file's up and down SQL by.
 */
async function writePeerDir(
  dir: string,
  fileName: (i: number) => string,
  markers: { readonly up: string; readonly down: string },
): Promise<void> {
  await mkdir(dir, { recursive: true });
  for (let i = 1; i <= migrations; i++) {
    await writeFile(
      join(dir, fileName(i)),
      `${markers.up}\n${upgradeSql(i)}\n\n${markers.down}\n${downgradeSql(i)}\n`,
    );
  }
}

const work = await mkdtemp(join(tmpdir(), 'revisor-peers-'));
await chmod(work, 0o755);
const revisorDir = join(work, 'revisor', 'chain');
const sqlFile = await writeRevisorChain(revisorDir, migrations);
const dbmateDir = join(work, 'dbmate');
await writePeerDir(dbmateDir, (i) => `${String(i).padStart(14, '0')}_bench_${i}.sql`, {
  up: '-- migrate:up',
  down: '-- migrate:down',
});
const npmDir = join(work, 'node-pg-migrate');
await writePeerDir(npmDir, (i) => `${String(1_700_000_000_000 + i)}_bench-${i}.sql`, {
  up: '-- Up Migration',
  down: '-- Down Migration',
});
const server = await startEmbedded(join(work, 'pg'));
const admin = new pg.Client({ connectionString: server.url });
await admin.connect();
let dbCounter = 0;

try {
  const node = process.execPath;
  const base = { ...process.env, REVISOR_LOG_LEVEL: 'warn' };
  // Each tool's command for one fresh database. Every one applies the steps a transaction each.
  const tools: Record<string, (url: string) => [string, string[], NodeJS.ProcessEnv]> = {
    'psql -1 -f (floor)': (url) => [
      'psql',
      ['-q', '-X', '-v', 'ON_ERROR_STOP=1', '-1', '-f', sqlFile, url],
      base,
    ],
    'revisor upgrade head': (url) => [
      node,
      [revisorBin, 'upgrade', 'head'],
      { ...base, REVISOR_MIGRATIONS: revisorDir, DATABASE_URL: url },
    ],
    '  the same, --no-record-schema': (url) => [
      node,
      [revisorBin, 'upgrade', 'head', '--no-record-schema'],
      { ...base, REVISOR_MIGRATIONS: revisorDir, DATABASE_URL: url },
    ],
    // migrate, not up: up would also create the database; no schema dump (it runs pg_dump).
    'dbmate migrate': (url) => [
      dbmateBin,
      ['--url', `${url}?sslmode=disable`, '--migrations-dir', dbmateDir, '--no-dump-schema', 'migrate'],
      base,
    ],
    'node-pg-migrate up': (url) => [
      node,
      [nodePgMigrateBin, 'up', '-m', npmDir, '--no-single-transaction'],
      { ...base, DATABASE_URL: url },
    ],
  };
  const names = Object.keys(tools);
  const times = new Map<string, number[]>(names.map((n) => [n, []]));
  const nodeStart: number[] = [];
  // One untimed round first (caches warm); then the tools take turns, each on a database
  // created before the round and checkpointed, so no tool pays for another's dirty pages.
  for (let round = -1; round < rounds; round++) {
    const urls: string[] = [];
    for (const _ of names) {
      const name = `peers_${dbCounter++}`;
      await admin.query(`CREATE DATABASE ${name}`);
      urls.push(server.urlFor(name));
    }
    await admin.query('CHECKPOINT');
    names.forEach((name, i) => {
      const [cmd, args, env] = tools[name]!(urls[i]!);
      const { ms } = measure(cmd, args, env);
      if (round >= 0) times.get(name)!.push(ms);
    });
    const { ms } = measure(node, ['-e', '0'], base);
    if (round >= 0) nodeStart.push(ms);
  }

  const floor = times.get(names[0]!)!;
  const f = median(floor);
  const paired = (xs: number[]) => median(xs.map((x, i) => x / floor[i]!));
  const lines = [
    `revisor peers bench: ${migrations} migrations, a transaction each, ${rounds} rounds, PostgreSQL at 127.0.0.1:${server.port}`,
    loadLine(),
    ...names.map((name, i) => {
      const xs = times.get(name)!;
      const ratios =
        i === 0 ? '' : `   ${(median(xs) / f).toFixed(2)}x psql -1 -f, ${paired(xs).toFixed(2)}x paired`;
      return `${name.padEnd(34)} ${median(xs).toFixed(1).padStart(9)} ms${ratios}`;
    }),
    `${"node -e 0 (a Node tool's start)".padEnd(34)} ${median(nodeStart).toFixed(1).padStart(9)} ms`,
    '',
    'every run, in order (ms):',
    ...names.map(
      (name) =>
        `  ${name.trim().padEnd(32)} ${times
          .get(name)!
          .map((x) => x.toFixed(0))
          .join(' ')}`,
    ),
    loadLine(),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
} finally {
  await admin.end();
  await stopEmbedded(server.dir, { remove: true });
  await rm(work, { recursive: true, force: true });
}
