import { execFile as execFileCb, spawnSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { repoRoot, sqlMigration, writeChain } from './cli.js';

const execFile = promisify(execFileCb);
const alembicBin = join(repoRoot, '.cache/alembic/bin/alembic');

/** Branch labels, dependencies, and an upgrade that fails (division by zero). */
export interface EntryOptions {
  readonly labels?: readonly string[];
  readonly dependsOn?: readonly string[];
  readonly fails?: boolean;
}

/** A revision of a chain both tools get: id, down revisions, the table its upgrade creates, its location. */
export type ChainEntry = readonly [
  id: string,
  down: readonly string[],
  table: string,
  location?: string,
  options?: EntryOptions,
];

const upgradeSql = (table: string, options: EntryOptions = {}) =>
  options.fails ? 'SELECT 1/0' : `CREATE TABLE ${table} (id int)`;

/** The pinned, real Alembic (scripts/alembic-env.sh installs it from PyPI). */
export function installAlembic(): void {
  const setup = spawnSync('bash', [join(repoRoot, 'scripts/alembic-env.sh')], { encoding: 'utf8' });
  if (setup.status !== 0) throw new Error(`could not install Alembic: ${setup.stderr}`);
}

const pyList = (ids: readonly string[]) =>
  ids.length === 0 ? 'None' : ids.length === 1 ? `'${ids[0]}'` : `(${ids.map((d) => `'${d}'`).join(', ')})`;

/**
 * An Alembic project whose revisions mirror `chain`: each in the version location it
 * names (a subdirectory of `versions/` when it has a slash), read recursively.
 */
export async function alembicProject(
  chain: readonly ChainEntry[],
  options: { transactionPerMigration?: boolean } = {},
): Promise<string> {
  const dir = await writeChain({});
  const locations = [...new Set(chain.map(([, , , location]) => (location ?? 'versions').split('/')[0]!))];
  await writeFile(
    join(dir, 'alembic.ini'),
    `[alembic]\nscript_location = ${dir}\nversion_locations = ${locations.map((l) => join(dir, l)).join(' ')}\n` +
      'recursive_version_locations = true\n',
  );
  await writeFile(
    join(dir, 'env.py'),
    [
      'import os',
      'from alembic import context',
      'from sqlalchemy import create_engine',
      "engine = create_engine(os.environ['ALEMBIC_URL'])",
      'with engine.connect() as connection:',
      // transaction_per_migration: as revisor's default, a failing run keeps what it applied
      // before. Off by default, as in Alembic's template (ensure_version commits only without it).
      `    context.configure(connection=connection, target_metadata=None, transaction_per_migration=${options.transactionPerMigration ? 'True' : 'False'})`,
      '    with context.begin_transaction():',
      '        context.run_migrations()',
      '',
    ].join('\n'),
  );
  for (const [rev, down, table, location, options] of chain) {
    const folder = join(dir, location ?? 'versions');
    await mkdir(folder, { recursive: true });
    await writeFile(
      join(folder, `${rev}.py`),
      [
        'from alembic import op',
        `revision = '${rev}'`,
        `down_revision = ${pyList(down)}`,
        `branch_labels = ${pyList(options?.labels ?? [])}`,
        `depends_on = ${pyList(options?.dependsOn ?? [])}`,
        `def upgrade():\n    op.execute("${upgradeSql(table, options)}")`,
        `def downgrade():\n    op.execute("DROP TABLE ${table}")`,
        '',
      ].join('\n'),
    );
  }
  return dir;
}

/** The same chain as revisor SQL migrations, in the same locations; returns the --migrations value. */
export async function revisorChain(chain: readonly ChainEntry[]): Promise<string> {
  const dir = await writeChain({});
  const locations = new Set<string>();
  for (const [rev, down, table, location, options] of chain) {
    const folder = join(dir, location ?? 'versions');
    locations.add(join(dir, (location ?? 'versions').split('/')[0]!));
    await mkdir(folder, { recursive: true });
    await writeFile(
      join(folder, `${rev}.sql`),
      sqlMigration(rev, down.join(', ') || null, `${upgradeSql(table, options)};`, `DROP TABLE ${table};`, {
        branchLabels: [...(options?.labels ?? [])],
        dependsOn: [...(options?.dependsOn ?? [])],
      }),
    );
  }
  return [...locations].join(',');
}

/** Runs Alembic on `url`; rejects (with its output) when Alembic fails. */
export async function alembic(project: string, url: string, args: string[]): Promise<string> {
  const sqlalchemyUrl = url.replace(/^postgres:/, 'postgresql+psycopg2:');
  const { stdout, stderr } = await execFile(alembicBin, ['-c', join(project, 'alembic.ini'), ...args], {
    env: { ...process.env, ALEMBIC_URL: sqlalchemyUrl },
  });
  return stdout + stderr;
}
