import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { expect, inject, onTestFinished } from 'vitest';

export const adminUrl = () => inject('adminDatabaseUrl');

export function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

/** A fresh database owned by this test, dropped (with its sessions) when the test ends. */
export async function createTestDatabase(): Promise<string> {
  const name = `t_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl() });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  onTestFinished(async () => {
    const client = new pg.Client({ connectionString: adminUrl() });
    await client.connect();
    try {
      await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    } finally {
      await client.end();
    }
  });
  return withDatabase(adminUrl(), name);
}

/** A client on `url`, closed when the test ends. */
export async function connect(url: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url });
  client.on('error', () => undefined);
  await client.connect();
  onTestFinished(async () => {
    await client.end().catch(() => undefined);
  });
  return client;
}

export async function tableNames(client: pg.Client, schema = 'public'): Promise<string[]> {
  const { rows } = await client.query<{ tablename: string }>(
    'SELECT tablename FROM pg_tables WHERE schemaname = $1 ORDER BY tablename',
    [schema],
  );
  return rows.map((r) => r.tablename);
}

export async function versionRows(client: pg.Client, table = 'alembic_version'): Promise<string[]> {
  const { rows } = await client.query<{ version_num: string }>(`SELECT version_num FROM ${table} ORDER BY 1`);
  return rows.map((r) => r.version_num);
}

/**
 * Waits until `count` sessions of this database sleep in pg_sleep: tests hold a step
 * mid-run with pg_sleep, then kill or terminate it. By wait event, not query text,
 * since a script's text in pg_stat_activity is cut off.
 */
export async function untilSleeping(db: pg.Client, count: number, timeoutMs = 30_000): Promise<void> {
  await expect
    .poll(
      async () =>
        (
          await db.query(
            "SELECT 1 FROM pg_stat_activity WHERE wait_event = 'PgSleep' AND datname = current_database()",
          )
        ).rowCount,
      { timeout: timeoutMs, interval: 50 },
    )
    .toBe(count);
}
