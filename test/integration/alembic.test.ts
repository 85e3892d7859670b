import { execFile as execFileCb, spawnSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { repoRoot, runCli, sqlMigration, writeChain } from '../support/cli.js';
import { connect, createTestDatabase, versionRows } from '../support/db.js';

const execFile = promisify(execFileCb);
const alembicBin = join(repoRoot, '.cache/alembic/bin/alembic');

// r -> a1 ; r -> b1 ; (a1, b1) -> m : the same chain for both tools.
const chain: [string, string[], string][] = [
  ['r0000', [], 'CREATE TABLE r (id int)'],
  ['a1111', ['r0000'], 'CREATE TABLE a (id int)'],
  ['b1111', ['r0000'], 'CREATE TABLE b (id int)'],
  ['m2222', ['a1111', 'b1111'], 'CREATE TABLE m (id int)'],
];

/** An Alembic project whose revisions mirror the revisor SQL chain below. */
async function alembicProject(): Promise<string> {
  const dir = await writeChain({});
  await mkdir(join(dir, 'versions'));
  await writeFile(join(dir, 'alembic.ini'), `[alembic]\nscript_location = ${dir}\n`);
  await writeFile(
    join(dir, 'env.py'),
    [
      'import os',
      'from alembic import context',
      'from sqlalchemy import create_engine',
      "engine = create_engine(os.environ['ALEMBIC_URL'])",
      'with engine.connect() as connection:',
      '    context.configure(connection=connection, target_metadata=None)',
      '    with context.begin_transaction():',
      '        context.run_migrations()',
      '',
    ].join('\n'),
  );
  for (const [rev, down, sql] of chain) {
    const downRevision =
      down.length === 0
        ? 'None'
        : down.length === 1
          ? `'${down[0]}'`
          : `(${down.map((d) => `'${d}'`).join(', ')})`;
    await writeFile(
      join(dir, 'versions', `${rev}.py`),
      [
        'from alembic import op',
        `revision = '${rev}'`,
        `down_revision = ${downRevision}`,
        'branch_labels = None',
        'depends_on = None',
        `def upgrade():\n    op.execute("${sql}")`,
        `def downgrade():\n    op.execute("DROP TABLE ${sql.split(' ')[2]}")`,
        '',
      ].join('\n'),
    );
  }
  return dir;
}

const revisorChain = () =>
  writeChain(
    Object.fromEntries(
      chain.map(([rev, down, sql]) => [
        `${rev}.sql`,
        sqlMigration(rev, down.join(', ') || null, `${sql};`, `DROP TABLE ${sql.split(' ')[2]};`),
      ]),
    ),
  );

async function alembic(project: string, url: string, args: string[]): Promise<string> {
  const sqlalchemyUrl = url.replace(/^postgres:/, 'postgresql+psycopg2:');
  const { stdout, stderr } = await execFile(alembicBin, ['-c', join(project, 'alembic.ini'), ...args], {
    env: { ...process.env, ALEMBIC_URL: sqlalchemyUrl },
  });
  return stdout + stderr;
}

describe('Alembic and revisor share the version table', () => {
  beforeAll(() => {
    const setup = spawnSync('bash', [join(repoRoot, 'scripts/alembic-env.sh')], { encoding: 'utf8' });
    if (setup.status !== 0) throw new Error(`could not install Alembic: ${setup.stderr}`);
  }, 300_000);

  it('lets Alembic continue a database revisor migrated onto two branches, through the merge', async () => {
    const url = await createTestDatabase();
    const env = { DATABASE_URL: url, REVISOR_MIGRATIONS: await revisorChain() };
    expect((await runCli(['upgrade', 'a1111'], env)).code).toBe(0);
    expect((await runCli(['upgrade', 'b1111'], env)).code).toBe(0);
    const project = await alembicProject();
    const current = await alembic(project, url, ['current']);
    expect(current).toContain('a1111');
    expect(current).toContain('b1111');
    await alembic(project, url, ['upgrade', 'head']);
    const db = await connect(url);
    expect(await versionRows(db)).toEqual(['m2222']);
    await alembic(project, url, ['downgrade', 'a1111']);
    expect(await versionRows(db)).toEqual(['a1111', 'b1111']);
    const back = await runCli(['current'], env);
    expect(back.stdout.trim().split('\n')).toEqual(['a1111', 'b1111']);
  });

  it('lets revisor continue a database Alembic migrated', async () => {
    const url = await createTestDatabase();
    const project = await alembicProject();
    await alembic(project, url, ['upgrade', 'a1111']);
    const env = { DATABASE_URL: url, REVISOR_MIGRATIONS: await revisorChain() };
    const up = await runCli(['upgrade', 'head'], env);
    expect(up.code).toBe(0);
    expect(up.stdout).toContain('applied 2 revision(s)');
    const db = await connect(url);
    expect(await versionRows(db)).toEqual(['m2222']);
    expect(await alembic(project, url, ['current'])).toContain('m2222 (head)');
  });
});
