import { execFileSync, spawnSync } from 'node:child_process';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { startEmbedded, stopEmbedded } from '../src/cli/embedded-postgres.js';
import { writeRevisorChain } from './bench-chain.js';
import { loadLine, measure, median } from './measure.js';

/**
 * npm run bench [-- N]: revisor against psql on the same SQL, on the same server, in
 * the same run. Prints medians and ratios; it asserts nothing (that is the tests' job).
 */
const migrations = Number(process.argv[2] ?? process.env['BENCH_MIGRATIONS'] ?? 200);
const applyRuns = Number(process.env['BENCH_APPLY_RUNS'] ?? 9);
const noopRuns = Number(process.env['BENCH_NOOP_RUNS'] ?? 30);
const bin = fileURLToPath(new URL('../../bin/revisor.js', import.meta.url));

const psql = spawnSync('psql', ['--version']).status === 0 ? 'psql' : null;
if (!psql) {
  process.stderr.write('bench: psql is needed for the floor (apt-get install postgresql-client)\n');
  process.exit(3);
}

const work = await mkdtemp(join(tmpdir(), 'revisor-bench-'));
await chmod(work, 0o755);
const chainDir = join(work, 'chain');
const sqlFile = await writeRevisorChain(chainDir, migrations);
const server = await startEmbedded(join(work, 'pg'));
const admin = new pg.Client({ connectionString: server.url });
await admin.connect();
let dbCounter = 0;
/**
 * Databases are created before the timed runs, then a CHECKPOINT: CREATE DATABASE
 * leaves dirty pages whose write-out would otherwise land in whichever run came next.
 */
async function freshDbs(count: number): Promise<string[]> {
  const urls: string[] = [];
  for (let i = 0; i < count; i++) {
    const name = `bench_${dbCounter++}`;
    await admin.query(`CREATE DATABASE ${name}`);
    urls.push(server.urlFor(name));
  }
  await admin.query('CHECKPOINT');
  return urls;
}

try {
  const env = { ...process.env, REVISOR_MIGRATIONS: chainDir, REVISOR_LOG_LEVEL: 'warn' };
  const node = process.execPath;
  // Warm the compile cache and the OS page cache once.
  execFileSync(node, [bin, 'heads'], { env });

  const floor: number[] = [];
  const perMigration: number[] = [];
  const unrecorded: number[] = [];
  const allInOne: number[] = [];
  // One untimed round first; then the four commands take turns, so a slow spell of the
  // machine hits all of them alike.
  const dbs = await freshDbs(4 * (applyRuns + 1));
  for (let run = -1; run < applyRuns; run++) {
    const psqlRun = measure(
      psql,
      ['-q', '-X', '-v', 'ON_ERROR_STOP=1', '-1', '-f', sqlFile, dbs.pop()!],
      env,
    ).ms;
    const perRun = measure(node, [bin, 'upgrade', 'head'], { ...env, DATABASE_URL: dbs.pop()! }).ms;
    // What the catalog recording that drift detection stands on costs, beside it.
    const unrecordedRun = measure(node, [bin, 'upgrade', 'head', '--no-record-schema'], {
      ...env,
      DATABASE_URL: dbs.pop()!,
    }).ms;
    const allRun = measure(node, [bin, 'upgrade', 'head', '--transaction-mode', 'all'], {
      ...env,
      DATABASE_URL: dbs.pop()!,
    }).ms;
    if (run < 0) continue;
    floor.push(psqlRun);
    perMigration.push(perRun);
    unrecorded.push(unrecordedRun);
    allInOne.push(allRun);
  }

  const [atHead] = (await freshDbs(1)) as [string];
  execFileSync(node, [bin, 'upgrade', 'head'], { env: { ...env, DATABASE_URL: atHead } });
  const select1: number[] = [];
  const noop: number[] = [];
  const noopRss: number[] = [];
  for (let run = 0; run < noopRuns; run++) {
    select1.push(measure(psql, ['-q', '-X', '-c', 'select 1', atHead], env).ms);
    const m = measure(node, [bin, 'upgrade', 'head'], { ...env, DATABASE_URL: atHead });
    noop.push(m.ms);
    if (m.rssKiB !== null) noopRss.push(m.rssKiB);
  }

  const f = median(floor);
  // Beside the ratio of medians, the median of each round's own ratio: the three runs of a
  // round sit seconds apart, so a slow spell of the machine mostly cancels out.
  const paired = (xs: number[]) => median(xs.map((x, i) => x / floor[i]!));
  const row = (name: string, xs: number[], target: string) =>
    `${name.padEnd(44)} ${median(xs).toFixed(1).padStart(9)} ms   ${(median(xs) / f).toFixed(2)}x psql -1 -f, ` +
    `${paired(xs).toFixed(2)}x paired   (target ${target})`;
  const lines = [
    `revisor bench: ${migrations} migrations, ${applyRuns} apply runs, ${noopRuns} no-op runs, PostgreSQL at 127.0.0.1:${server.port}`,
    loadLine(),
    `${'psql -1 -f (floor)'.padEnd(44)} ${f.toFixed(1).padStart(9)} ms`,
    row('revisor upgrade head (transaction per step)', perMigration, '<= 1.1x'),
    row('  the same, --no-record-schema', unrecorded, "none: the recording's cost"),
    row('revisor upgrade head --transaction-mode all', allInOne, '<= 1.15x'),
    '',
    `${"psql -c 'select 1'".padEnd(44)} ${median(select1).toFixed(1).padStart(9)} ms`,
    `${'revisor upgrade head (no-op, at head)'.padEnd(44)} ${median(noop).toFixed(1).padStart(9)} ms   ${(median(noop) / median(select1)).toFixed(2)}x psql -c 'select 1'   (target <= 1.5x)`,
    `${'  peak RSS of the no-op run'.padEnd(44)} ${noopRss.length ? `${(median(noopRss) / 1024).toFixed(1).padStart(9)} MiB` : '      n/a (no /usr/bin/time)'}   (target <= 60 MiB)`,
  ];
  const spread = (name: string, xs: number[]) =>
    `  ${name.padEnd(42)} ${[...xs].map((x) => x.toFixed(0)).join(' ')}`;
  lines.push(
    '',
    'every run, in order (ms):',
    spread('psql -1 -f', floor),
    spread('transaction per step', perMigration),
    spread('  --no-record-schema', unrecorded),
    spread('all-in-one', allInOne),
    spread("psql -c 'select 1'", select1),
    spread('no-op', noop),
  );
  lines.push(loadLine());
  process.stdout.write(`${lines.join('\n')}\n`);
} finally {
  await admin.end();
  await stopEmbedded(server.dir, { remove: true });
  await rm(work, { recursive: true, force: true });
}
