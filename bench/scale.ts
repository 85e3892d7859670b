import { execFileSync, spawnSync } from 'node:child_process';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { startEmbedded, stopEmbedded } from '../src/cli/embedded-postgres.js';
import { launchPgBouncer, pgbouncerBin } from '../test/support/pgbouncer-process.js';
import { loadLine, measure, median } from './measure.js';

/**
 * npm run bench (second part): how revisor scales with history and where it runs.
 * - the no-op at head with 200 and with 10,000 applied revisions (target: flat, ±10%, and
 *   within 1.5x psql -c 'select 1'), loading the chain, with a checkout's chain index and
 *   with a sealed one (an image's);
 * - a 10,000-step chain applied from empty, against psql -f of the same SQL, and its peak RSS;
 * - a 200-step apply through PgBouncer in transaction pooling mode, against the same
 *   apply straight to PostgreSQL and psql -1 -f through the same PgBouncer.
 * Every figure is a ratio to a floor measured in this run; it asserts nothing.
 */
const long = Number(process.env['BENCH_LONG_CHAIN'] ?? 10_000);
const short = 200;
const noopRuns = Number(process.env['BENCH_NOOP_RUNS'] ?? 15);
const bin = fileURLToPath(new URL('../../bin/revisor.js', import.meta.url));

if (spawnSync('psql', ['--version']).status !== 0) {
  process.stderr.write('bench: psql is needed for the floor (apt-get install postgresql-client)\n');
  process.exit(3);
}

const id = (i: number) => `s${String(i).padStart(6, '0')}`;
const body = (i: number) => `CREATE TABLE scale_${i} (id bigint PRIMARY KEY, note text);`;

async function generate(dir: string, n: number): Promise<string> {
  await mkdir(dir);
  const all: string[] = [];
  for (let i = 1; i <= n; i++) {
    all.push(body(i));
    await writeFile(
      join(dir, `${id(i)}.sql`),
      `-- revision: ${id(i)}\n-- down_revision: ${i === 1 ? 'None' : id(i - 1)}\n-- message: scale ${i}\n` +
        `-- migrate:upgrade\n${body(i)}\n-- migrate:downgrade\nDROP TABLE scale_${i};\n`,
    );
  }
  const file = `${dir}.sql`;
  await writeFile(file, `${all.join('\n')}\n`);
  return file;
}

const work = await mkdtemp(join(tmpdir(), 'revisor-scale-'));
await chmod(work, 0o755);
const shortDir = join(work, 'short');
const longDir = join(work, 'long');
const shortSql = await generate(shortDir, short);
const longSql = await generate(longDir, long);
const server = await startEmbedded(join(work, 'pg'));
const admin = new pg.Client({ connectionString: server.url });
await admin.connect();
let counter = 0;
async function freshDb(): Promise<string> {
  const name = `scale_${counter++}`;
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.query('CHECKPOINT');
  return server.urlFor(name);
}

const node = process.execPath;
const env = { ...process.env, REVISOR_LOG_LEVEL: 'warn' };
const revisor = (dir: string, url: string, extra: string[] = []) =>
  measure(node, [bin, 'upgrade', 'head', ...extra], { ...env, REVISOR_MIGRATIONS: dir, DATABASE_URL: url });
const lines: string[] = [`revisor scale bench: PostgreSQL at 127.0.0.1:${server.port}`, loadLine(), ''];
const row = (name: string, ms: number, detail: string) =>
  `${name.padEnd(48)} ${ms.toFixed(1).padStart(9)} ms   ${detail}`;
try {
  execFileSync(node, [bin, 'heads'], { env: { ...env, REVISOR_MIGRATIONS: longDir } });

  // A long chain from empty.
  const psqlLong = measure(
    'psql',
    ['-q', '-X', '-v', 'ON_ERROR_STOP=1', '-f', longSql, await freshDb()],
    env,
  );
  const atLong = await freshDb();
  const revisorLong = revisor(longDir, atLong);
  lines.push(
    row(`psql -f, ${long} statements (floor)`, psqlLong.ms, ''),
    row(
      `revisor upgrade head, ${long} revisions from empty`,
      revisorLong.ms,
      `${(revisorLong.ms / psqlLong.ms).toFixed(2)}x psql -f; peak RSS ${((revisorLong.rssKiB ?? 0) / 1024).toFixed(1)} MiB`,
    ),
    '',
  );

  // The no-op with short and long history, taking turns, three ways: loading the chain (no
  // index), with the index a checkout keeps (a stat per file), and with a sealed index (an
  // image's chain: one directory read).
  const atShort = await freshDb();
  revisor(shortDir, atShort);
  type Mode = 'load' | 'index' | 'sealed';
  const prepare = async (mode: Mode) => {
    for (const dir of [shortDir, longDir]) {
      await rm(join(dir, '.revisor-index.json'), { force: true });
      if (mode !== 'load')
        execFileSync(node, [bin, 'index', ...(mode === 'sealed' ? ['--seal'] : []), '--migrations', dir], {
          env,
        });
    }
  };
  const noops = async (mode: Mode) => {
    await prepare(mode);
    const runs = { short: [] as number[], long: [] as number[], select1: [] as number[] };
    for (let i = 0; i < noopRuns; i++) {
      runs.select1.push(measure('psql', ['-q', '-X', '-c', 'select 1', atShort], env).ms);
      // Loading the chain writes the index for the next run: it goes again, untimed.
      if (mode === 'load') await prepare(mode);
      runs.short.push(revisor(shortDir, atShort).ms);
      runs.long.push(revisor(longDir, atLong).ms);
    }
    const floor = median(runs.select1);
    const how = {
      load: 'loading the chain',
      index: "with a checkout's index",
      sealed: 'with a sealed index',
    }[mode];
    const target = mode === 'sealed' ? ' (target <= 1.5x)' : '';
    lines.push(
      row(`psql -c 'select 1' (floor)`, floor, ''),
      row(
        `no-op at head, ${short} applied, ${how}`,
        median(runs.short),
        `${(median(runs.short) / floor).toFixed(2)}x select 1${target}`,
      ),
      row(
        `no-op at head, ${long} applied, ${how}`,
        median(runs.long),
        `${(median(runs.long) / floor).toFixed(2)}x select 1${target}; ${(median(runs.long) / median(runs.short)).toFixed(2)}x the ${short}-revision no-op (target <= 1.10x)`,
      ),
      '',
    );
  };
  await noops('load');
  await noops('index');
  await noops('sealed');

  // Through PgBouncer in transaction pooling mode.
  if (pgbouncerBin) {
    const bouncer = await launchPgBouncer(server.url, { poolMode: 'transaction', poolSize: 4 });
    try {
      const direct: number[] = [];
      const pooled: number[] = [];
      const psqlPooled: number[] = [];
      for (let i = 0; i < 5; i++) {
        psqlPooled.push(
          measure(
            'psql',
            ['-q', '-X', '-v', 'ON_ERROR_STOP=1', '-1', '-f', shortSql, bouncer.url(await freshDb())],
            env,
          ).ms,
        );
        direct.push(revisor(shortDir, await freshDb()).ms);
        pooled.push(revisor(shortDir, bouncer.url(await freshDb())).ms);
      }
      const f = median(psqlPooled);
      lines.push(
        row(`psql -1 -f through PgBouncer (transaction mode)`, f, ''),
        row(
          `revisor, ${short} steps, straight to PostgreSQL`,
          median(direct),
          `${(median(direct) / f).toFixed(2)}x`,
        ),
        row(
          `revisor, ${short} steps, through PgBouncer`,
          median(pooled),
          `${(median(pooled) / f).toFixed(2)}x; ${(median(pooled) / median(direct)).toFixed(2)}x straight`,
        ),
      );
    } finally {
      await bouncer.stop();
    }
  } else {
    lines.push('PgBouncer: not installed (apt-get install pgbouncer); skipped');
  }
  lines.push('', loadLine());
  process.stdout.write(`${lines.join('\n')}\n`);
} finally {
  await admin.end();
  await stopEmbedded(server.dir, { remove: true });
  await rm(work, { recursive: true, force: true });
}
