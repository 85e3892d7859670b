import { describe, expect, it } from 'vitest';
import { revisorProject, runCli, startCli } from '../support/cli.js';
import { connect, createTestDatabase, versionRows } from '../support/db.js';

const rows = Number(process.env['REVISOR_BACKFILL_ROWS'] ?? 1_000_000);
const batchSize = 5000;

const migration = `import { defineMigration } from 'revisor';

export default defineMigration({
  revision: 'fill0001',
  downRevision: null,
  message: 'backfill orders.total',
  transactional: false,
  upgrade(op) {
    op.backfill({ table: 'orders', set: 'total = price * qty', where: 'total IS NULL', batchSize: ${batchSize} });
  },
  downgrade(op) {
    op.execute('UPDATE orders SET total = NULL');
  },
});
`;

describe('op.backfill', () => {
  it(`${rows} rows with writers running: killed halfway, resumed, every row right, no writer held up by more than a batch`, async () => {
    const url = await createTestDatabase();
    const db = await connect(url);
    await db.query(
      'CREATE TABLE orders (id bigint PRIMARY KEY, price int NOT NULL, qty int NOT NULL, total int)',
    );
    await db.query(
      `INSERT INTO orders SELECT g, g % 100 + 1, g % 7 + 1, NULL FROM generate_series(1, ${rows}) g`,
    );
    await db.query('ANALYZE orders');
    const env = { DATABASE_URL: url, REVISOR_MIGRATIONS: await revisorProject({ 'fill0001.ts': migration }) };

    // The application keeps writing: it changes prices (keeping total right) and adds orders.
    const writer = await connect(url);
    let writing = true;
    let writes = 0;
    let slowestMs = 0;
    const writes$ = (async () => {
      for (let next = rows + 1; writing; next++) {
        const started = performance.now();
        const id = 1 + Math.floor(Math.random() * rows);
        await writer.query('UPDATE orders SET price = price + 1, total = (price + 1) * qty WHERE id = $1', [
          id,
        ]);
        await writer.query('INSERT INTO orders VALUES ($1, 10, 2, 20)', [next]);
        slowestMs = Math.max(slowestMs, performance.now() - started);
        writes++;
        await new Promise((r) => setTimeout(r, 5));
      }
    })();

    const first = startCli(['upgrade', 'head'], env);
    let cursor: { rows_done: string; batches: string } | undefined;
    for (let i = 0; i < 600; i++) {
      await new Promise((r) => setTimeout(r, 100));
      const progress = await db
        .query("SELECT rows_done, batches FROM revisor_history_backfill WHERE revision = 'fill0001'")
        .catch(() => ({ rows: [] }));
      cursor = progress.rows[0];
      if (cursor && Number(cursor.rows_done) >= rows / 2) break;
    }
    first.child.kill('SIGKILL');
    await first.done;
    expect(Number(cursor?.rows_done)).toBeGreaterThanOrEqual(rows / 2);
    const killedAt = (
      await db.query("SELECT rows_done, batches FROM revisor_history_backfill WHERE revision = 'fill0001'")
    ).rows[0];
    // Each batch committed on its own, with its cursor: the work done survives the kill.
    expect(Number(killedAt.batches)).toBeGreaterThan(rows / 2 / batchSize - 1);
    expect(Number(killedAt.rows_done)).toBe(Number(killedAt.batches) * batchSize);
    expect(await versionRows(db)).toEqual([]);

    const second = await runCli(['upgrade', 'head'], env);
    writing = false;
    await writes$;
    expect(second.code, second.stderr).toBe(0);
    expect(await versionRows(db)).toEqual(['fill0001']);
    const wrong = await db.query(
      'SELECT count(*)::int AS n FROM orders WHERE total IS DISTINCT FROM price * qty',
    );
    expect(wrong.rows[0].n).toBe(0);
    const left = await db.query(
      "SELECT count(*)::int AS n FROM revisor_history_backfill WHERE revision = 'fill0001'",
    );
    expect(left.rows[0].n).toBe(0);
    expect(writes).toBeGreaterThan(50);
    // A writer waits at most for the batch holding its row (5,000 rows): well under this.
    expect(slowestMs).toBeLessThan(3000);
    await Promise.all([db.end(), writer.end()]);
  }, 300_000);

  it('refuses to run in a transactional migration, naming the fix', async () => {
    const url = await createTestDatabase();
    const db = await connect(url);
    await db.query('CREATE TABLE orders (id bigint PRIMARY KEY, price int, qty int, total int)');
    const env = {
      DATABASE_URL: url,
      REVISOR_MIGRATIONS: await revisorProject({
        'fill0001.ts': migration.replace('transactional: false', 'transactional: true'),
      }),
    };
    const result = await runCli(['upgrade', 'head'], env);
    expect(result.code).toBe(17);
    expect(result.stderr).toContain('op.backfill needs the migration to be transactional: false');
    expect(await versionRows(db)).toEqual([]);
    await db.end();
  });
});
