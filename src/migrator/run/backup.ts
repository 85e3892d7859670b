import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { RevisorError } from '../errors/errors.js';
import { qualified } from '../ops/statement.js';
import type { Queryable } from '../pg/db.js';
import { type Plan, statementsOf } from '../plan/planner.js';
import { isStashStatement } from '../sql/stash-sql.js';

export interface BackupSettings {
  /** The directory dumps are written to. */
  readonly dir: string;
  /** The pg_dump to run (its major version must be at least the server's). */
  readonly pgDump: string;
  /** libpq's environment for the connection (PGHOST, PGPASSWORD, …): credentials never go on argv. */
  readonly env: NodeJS.ProcessEnv;
}

/** The tables an upgrade plan destroys data in: what the op API's destructive ops and `-- destroys:` name. */
export function destroyedTables(plan: Plan): string[] {
  if (plan.direction !== 'upgrade') return [];
  const tables = new Set<string>();
  for (const step of plan.steps) {
    for (const s of statementsOf(step)) {
      if (isStashStatement(s) && s.destroys)
        tables.add(qualified(s.destroys.table, s.destroys.schema ?? 'public'));
    }
  }
  return [...tables].sort();
}

// child_process is loaded here, when a backup runs, not on every run's way in.
async function run(pgDump: string, args: string[], env: NodeJS.ProcessEnv): Promise<void> {
  const { spawn } = await import('node:child_process');
  return new Promise((resolve, reject) => {
    const child = spawn(pgDump, args, {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    child.on('error', (err: NodeJS.ErrnoException) =>
      reject(
        new RevisorError(
          'BackupFailed',
          err.code === 'ENOENT'
            ? `--backup needs pg_dump, and ${pgDump} was not found: install the PostgreSQL client matching the server (postgresql-client-NN), or give its path with --pg-dump; nothing was run`
            : `pg_dump could not start: ${err.message}; nothing was run`,
        ),
      ),
    );
    child.on('close', (code) => {
      if (code === 0) return resolve();
      const mismatch = /server version mismatch/.test(stderr)
        ? " (pg_dump must be at least the server's major version: install the matching postgresql-client, or give its path with --pg-dump)"
        : '';
      reject(
        new RevisorError(
          'BackupFailed',
          `pg_dump failed (exit ${code})${mismatch}: ${stderr.trim().split('\n').slice(-3).join(' ')}; nothing was run`,
        ),
      );
    });
  });
}

/**
 * A logical backup before a plan that destroys data: the schema of the whole database and
 * the data of the tables the plan destroys data in, each a plain SQL file named after the
 * plan's first and last revision. null when the plan destroys nothing that exists yet.
 */
export async function backupBeforePlan(
  db: Queryable,
  plan: Plan,
  settings: BackupSettings,
  now: Date,
): Promise<string[] | null> {
  // A table the same plan creates has nothing to lose yet.
  const named = destroyedTables(plan);
  if (named.length === 0) return null;
  const { rows } = await db.query<{ name: string }>(
    'SELECT name FROM unnest($1::text[]) AS name WHERE to_regclass(name) IS NOT NULL',
    [named],
  );
  const tables = rows.map((r) => r.name);
  if (tables.length === 0) return null;
  await mkdir(settings.dir, { recursive: true });
  const stamp = now.toISOString().replace(/[-:]/g, '').replace(/\..*$/, '');
  const label = `${stamp}_${plan.steps[0]!.revision}-${plan.steps.at(-1)!.revision}`;
  const schemaFile = join(settings.dir, `${label}_schema.sql`);
  const dataFile = join(settings.dir, `${label}_data.sql`);
  await run(settings.pgDump, ['--schema-only', '--no-owner', `--file=${schemaFile}`], settings.env);
  await run(
    settings.pgDump,
    ['--data-only', '--no-owner', ...tables.map((t) => `--table=${t}`), `--file=${dataFile}`],
    settings.env,
  );
  return [schemaFile, dataFile];
}
