import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { alembic, alembicProject, type ChainEntry, installAlembic } from '../support/alembic.js';
import { repoRoot, runCli, writeChain } from '../support/cli.js';
import { connect, createTestDatabase, tableNames, versionRows } from '../support/db.js';

// Branches, a merge, a second base with a label that depends on the first branch, and a
// revision written with Alembic's ops rather than raw SQL.
const chain: ChainEntry[] = [
  ['r0000', [], 'r'],
  ['a1111', ['r0000'], 'a', undefined, { labels: ['accounts'] }],
  ['b1111', ['r0000'], 'b'],
  ['m2222', ['a1111', 'b1111'], 'm'],
  ['d0000', [], 'd', undefined, { labels: ['audit'], dependsOn: ['a1111'] }],
];

const widgets = `"""create widgets

Revision ID: w5555
Revises: m2222
Create Date: 2026-11-28 03:00:00.000000

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa

revision: str = "w5555"
down_revision: Union[str, Sequence[str], None] = "m2222"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        "widgets",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(50), nullable=False, server_default="it's"),
    )
    op.create_index("ix_widgets_name", "widgets", ["name"])


def downgrade() -> None:
    op.drop_index("ix_widgets_name", table_name="widgets")
    op.drop_table("widgets")
`;

async function project(): Promise<string> {
  const dir = await alembicProject(chain);
  await writeFile(join(dir, 'versions', 'w5555_create_widgets.py'), widgets);
  return dir;
}

type Db = Awaited<ReturnType<typeof connect>>;
const columns = async (db: Db) =>
  (
    await db.query(
      `SELECT table_name, column_name, data_type, is_nullable, column_default FROM information_schema.columns
       WHERE table_schema = 'public' AND table_name <> 'revisor_history' ORDER BY table_name, column_name`,
    )
  ).rows;
const indexes = async (db: Db) =>
  (
    await db.query(
      `SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' AND tablename <> 'revisor_history' ORDER BY 1`,
    )
  ).rows;

describe('revisor import alembic', () => {
  beforeAll(installAlembic, 300_000);

  it("writes the graph with SQL from Alembic's offline mode; revisor adopts and continues an Alembic database", async () => {
    const dir = await project();
    const out = join(await writeChain({}), 'imported');
    const python = join(repoRoot, '.cache/alembic/bin/python');
    const imported = await runCli([
      'import',
      'alembic',
      join(dir, 'alembic.ini'),
      '--out',
      out,
      '--python',
      python,
    ]);
    expect(imported.code, imported.stderr).toBe(0);
    expect(imported.stdout).toContain('imported 6 revision(s)');
    expect(imported.stdout).toContain("6 with SQL from Alembic's offline mode");

    const env = (url: string) => ({ DATABASE_URL: url, REVISOR_MIGRATIONS: out });
    const history = await runCli(['history'], env(''));
    expect(history.stdout).toContain('a1111 (accounts)');
    expect(history.stdout).toContain('<base> (a1111) -> d0000 (audit)');

    // Alembic took one database part of the way; revisor continues it; Alembic does the other.
    const adopted = await createTestDatabase();
    const reference = await createTestDatabase();
    await alembic(dir, adopted, ['upgrade', 'a1111']);
    const up = await runCli(['upgrade', 'heads'], env(adopted));
    expect(up.code, up.stderr).toBe(0);
    await alembic(dir, reference, ['upgrade', 'heads']);
    const [a, r] = [await connect(adopted), await connect(reference)];
    expect(await versionRows(a)).toEqual(await versionRows(r));
    expect(await versionRows(a)).toEqual(['d0000', 'w5555']);
    const withoutHistory = async (db: Db) => (await tableNames(db)).filter((t) => t !== 'revisor_history');
    expect(await withoutHistory(a)).toEqual(await withoutHistory(r));
    expect(await columns(a)).toEqual(await columns(r));
    expect(await indexes(a)).toEqual(await indexes(r));

    // Back to base with revisor's downgrades (Alembic's SQL too), and Alembic's own.
    expect((await runCli(['downgrade', 'base'], env(adopted))).code).toBe(0);
    await alembic(dir, reference, ['downgrade', 'base']);
    expect(await versionRows(a)).toEqual([]);
    expect(await withoutHistory(a)).toEqual(await withoutHistory(r));
    await Promise.all([a.end(), r.end()]);
  });

  it('without Alembic, writes the graph with sections that refuse to run; an Alembic database is adopted as it is', async () => {
    const dir = await project();
    const out = join(await writeChain({}), 'imported');
    const imported = await runCli([
      'import',
      'alembic',
      join(dir, 'alembic.ini'),
      '--out',
      out,
      '--python',
      '/nonexistent/python3',
    ]);
    expect(imported.code).toBe(0);
    expect(imported.stdout).toContain('0 with SQL');
    expect(imported.stderr).toContain('w5555 has no SQL');

    const migrated = await createTestDatabase();
    await alembic(dir, migrated, ['upgrade', 'heads']);
    const env = (url: string) => ({ DATABASE_URL: url, REVISOR_MIGRATIONS: out });
    const noop = await runCli(['upgrade', 'heads'], env(migrated));
    expect(noop.code, noop.stderr).toBe(0);

    const fresh = await createTestDatabase();
    const refused = await runCli(['upgrade', 'heads'], env(fresh));
    expect(refused.code).toBe(24);
    expect(refused.stderr).toContain('the upgrade SQL of r0000 was not generated');
    const db = await connect(fresh);
    expect(await versionRows(db)).toEqual([]);
    await db.end();
  });

  it('refuses a directory that already holds migrations, and a script without a revision id', async () => {
    const dir = await project();
    const out = await writeChain({ 'x.sql': '-- revision: x\n' });
    const full = await runCli(['import', 'alembic', join(dir, 'alembic.ini'), '--out', out]);
    expect(full.code).toBe(2);
    expect(full.stderr).toContain('already holds migrations');
    await writeFile(join(dir, 'versions', 'helper.py'), 'def util():\n    return 1\n');
    const bad = await runCli(['import', 'alembic', join(dir, 'alembic.ini'), '--out', join(out, 'sub')]);
    expect(bad.code).toBe(10);
    expect(bad.stderr).toContain(`helper.py: no module-level "revision = '...'"`);
  });
});
