import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * The benches' migrations: step i creates a table with a primary key, a default and an
 * index, and points the previous table at it with a foreign key, so later steps alter
 * what earlier ones made (as a real chain does) and the catalog grows by a table a step.
 */
export function upgradeSql(i: number): string {
  const lines = [
    `CREATE TABLE bench_${i} (id bigint PRIMARY KEY, name text NOT NULL, payload jsonb, created_at timestamptz NOT NULL DEFAULT now());`,
    `CREATE INDEX ix_bench_${i}_name ON bench_${i} (name);`,
  ];
  if (i > 1) lines.push(`ALTER TABLE bench_${i - 1} ADD COLUMN next_id bigint REFERENCES bench_${i} (id);`);
  return lines.join('\n');
}

export const downgradeSql = (i: number) => `DROP TABLE bench_${i} CASCADE;`;

/** A revision id for step i: b00001, b00002, … (sorts as it chains). */
const revisionId = (i: number) => `b${String(i).padStart(5, '0')}`;

/**
 * `count` steps as revisor SQL revisions in `dir`, and their upgrade SQL concatenated in
 * `dir/../all.sql` (what `psql -1 -f` runs as the floor); returns that file's path.
 */
export async function writeRevisorChain(dir: string, count: number): Promise<string> {
  await mkdir(dir, { recursive: true });
  const all: string[] = [];
  for (let i = 1; i <= count; i++) {
    const down = i === 1 ? 'None' : revisionId(i - 1);
    all.push(upgradeSql(i));
    await writeFile(
      join(dir, `${revisionId(i)}.sql`),
      `-- revision: ${revisionId(i)}\n-- down_revision: ${down}\n-- message: bench ${i}\n` +
        `-- migrate:upgrade\n${upgradeSql(i)}\n-- migrate:downgrade\n${downgradeSql(i)}\n`,
    );
  }
  const file = join(dir, '..', 'all.sql');
  await writeFile(file, `${all.join('\n')}\n`);
  return file;
}
