import { execFileSync } from 'node:child_process';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { startEmbedded, stopEmbedded } from '../src/cli/embedded-postgres.js';
import { type Catalog, catalogLines } from '../src/migrator/schema/catalog.js';
import { diff } from '../src/migrator/schema/diff.js';
import { readCatalog } from '../src/migrator/schema/read-catalog.js';
import { defaultTables } from '../src/migrator/sql/bookkeeping.js';
import { loadLine, median } from './measure.js';

/**
 * npm run bench (third part): the diff engine's cost. For the seed's schema (the embedded
 * chain at head) and a generated 500-table schema: reading the catalog (against a floor of
 * one SELECT 1 round trip per catalog query, on the same connection), diffing it against
 * a changed copy and against nothing, and the memory both take. It asserts nothing.
 */
const runs = Number(process.env['BENCH_SCHEMA_RUNS'] ?? 9);
const tables = Number(process.env['BENCH_SCHEMA_TABLES'] ?? 500);
const bin = fileURLToPath(new URL('../../bin/revisor.js', import.meta.url));

function wideSchema(n: number): string {
  const sql = ["CREATE TYPE state AS ENUM ('new', 'active', 'closed');"];
  for (let i = 1; i <= n; i++) {
    sql.push(
      `CREATE TABLE t${i} (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, parent_id bigint` +
        `${i > 1 ? ` REFERENCES t${i - 1} (id) ON DELETE CASCADE` : ''}, name varchar(100) NOT NULL, ` +
        "state state NOT NULL DEFAULT 'new', amount numeric(12,2) CHECK (amount >= 0), tags text[], " +
        'created_at timestamptz NOT NULL DEFAULT now(), UNIQUE (name));',
      `CREATE INDEX t${i}_created ON t${i} (created_at DESC) WHERE state <> 'closed';`,
    );
  }
  return sql.join('\n');
}

const work = await mkdtemp(join(tmpdir(), 'revisor-schema-bench-'));
await chmod(work, 0o755);
const server = await startEmbedded(join(work, 'pg'));
const admin = new pg.Client({ connectionString: server.url });
await admin.connect();
const lines = [
  `revisor schema bench: ${tables}-table schema and the seed's, ${runs} runs each`,
  loadLine(),
  '',
];
const row = (name: string, ms: number, detail = '') =>
  `${name.padEnd(44)} ${ms.toFixed(1).padStart(9)} ms   ${detail}`;
const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;

async function timed(f: () => unknown): Promise<number> {
  const started = process.hrtime.bigint();
  await f();
  return Number(process.hrtime.bigint() - started) / 1e6;
}

async function bench(label: string, url: string): Promise<void> {
  const db = new pg.Client({ connectionString: url });
  await db.connect();
  const scope = { tables: defaultTables };
  let catalog: Catalog = await readCatalog(db, scope);
  const floor: number[] = [];
  const reads: number[] = [];
  for (let i = 0; i < runs; i++) {
    floor.push(
      await timed(async () => {
        for (let q = 0; q < 8; q++) await db.query('SELECT 1');
      }),
    );
    reads.push(
      await timed(async () => {
        catalog = await readCatalog(db, scope);
      }),
    );
  }
  const changed: Catalog = {
    ...catalog,
    tables: catalog.tables.map((t, i) => (i % 10 === 0 ? { ...t, columns: t.columns.slice(0, -1) } : t)),
  };
  const empty: Catalog = { ...catalog, enums: [], tables: [], views: [], sequences: [] };
  const before = process.memoryUsage();
  const diffs = [];
  const creates = [];
  for (let i = 0; i < runs; i++) {
    diffs.push(await timed(() => diff(catalog, changed)));
    creates.push(await timed(() => diff(empty, catalog)));
  }
  const after = process.memoryUsage();
  const floorMs = median(floor);
  lines.push(
    `${label}: ${catalog.tables.length} tables, ${catalogLines(catalog).length} catalog facts, ` +
      `${mib(Buffer.byteLength(JSON.stringify(catalog)))} as JSON`,
    row(
      '  read the catalog',
      median(reads),
      `${(median(reads) / floorMs).toFixed(1)}x the floor (8 x SELECT 1: ${floorMs.toFixed(1)} ms)`,
    ),
    row('  diff against a copy with 10% of tables changed', median(diffs)),
    row('  diff from nothing (create everything)', median(creates), `${diff(empty, catalog).length} changes`),
    `  memory: RSS ${mib(after.rss)} (heap ${mib(after.heapUsed)}, +${mib(after.heapUsed - before.heapUsed)} over the diffs)`,
    '',
  );
  await db.end();
}

try {
  await admin.query('CREATE DATABASE seed');
  execFileSync(process.execPath, [bin, 'upgrade', 'head'], {
    env: { ...process.env, DATABASE_URL: server.urlFor('seed'), REVISOR_LOG_LEVEL: 'warn' },
  });
  await bench("the seed's schema (embedded chain at head)", server.urlFor('seed'));
  await admin.query('CREATE DATABASE wide');
  const wide = new pg.Client({ connectionString: server.urlFor('wide') });
  await wide.connect();
  await wide.query(wideSchema(tables));
  await wide.end();
  await bench(`a generated ${tables}-table schema`, server.urlFor('wide'));
  process.stdout.write(`${lines.join('\n')}\n`);
} finally {
  await admin.end();
  await stopEmbedded(join(work, 'pg'), { remove: true });
  await rm(work, { recursive: true, force: true });
}
