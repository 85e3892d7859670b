import { beforeAll, describe, expect, it } from 'vitest';
import {
  alembic,
  alembicProject,
  type ChainEntry,
  installAlembic,
  revisorChain,
} from '../support/alembic.js';
import { runCli } from '../support/cli.js';
import { connect, createTestDatabase, tableNames, versionRows } from '../support/db.js';

// r -> a1 ; r -> b1 ; (a1, b1) -> m : the same chain for both tools.
const chain: ChainEntry[] = [
  ['r0000', [], 'r'],
  ['a1111', ['r0000'], 'a'],
  ['b1111', ['r0000'], 'b'],
  ['m2222', ['a1111', 'b1111'], 'm'],
];

describe('Alembic and revisor share the version table', () => {
  beforeAll(installAlembic, 300_000);

  it('lets Alembic continue a database revisor migrated onto two branches, through the merge', async () => {
    const url = await createTestDatabase();
    const env = { DATABASE_URL: url, REVISOR_MIGRATIONS: await revisorChain(chain) };
    expect((await runCli(['upgrade', 'a1111'], env)).code).toBe(0);
    expect((await runCli(['upgrade', 'b1111'], env)).code).toBe(0);
    const project = await alembicProject(chain);
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
    const project = await alembicProject(chain);
    await alembic(project, url, ['upgrade', 'a1111']);
    const env = { DATABASE_URL: url, REVISOR_MIGRATIONS: await revisorChain(chain) };
    const up = await runCli(['upgrade', 'head'], env);
    expect(up.code).toBe(0);
    expect(up.stdout).toContain('applied 2 revision(s)');
    const db = await connect(url);
    expect(await versionRows(db)).toEqual(['m2222']);
    expect(await alembic(project, url, ['current'])).toContain('m2222 (head)');
  });
});

/**
 * Each case runs the same commands with Alembic and with revisor, on databases of their
 * own, and compares the version rows and the tables after every command; a command
 * Alembic refuses, revisor refuses too, and neither changes anything.
 */
describe('Alembic parity, command by command', () => {
  beforeAll(installAlembic, 300_000);

  async function side(
    spread: readonly ChainEntry[],
    recursive: boolean,
    prepare?: string,
    transactionPerMigration = false,
  ) {
    const alembicUrl = await createTestDatabase();
    const revisorUrl = await createTestDatabase();
    if (prepare) {
      for (const url of [alembicUrl, revisorUrl]) {
        const db = await connect(url);
        await db.query(prepare);
        await db.end();
      }
    }
    const project = await alembicProject(spread, { transactionPerMigration });
    const env = { DATABASE_URL: revisorUrl, REVISOR_MIGRATIONS: await revisorChain(spread) };
    const extra = recursive ? ['--recursive'] : [];
    const both = async (alembicArgs: string[], revisorArgs: string[]) => {
      const a = await alembic(project, alembicUrl, alembicArgs).then(
        () => true,
        () => false,
      );
      const r = await runCli([...revisorArgs, ...extra], env);
      const [aDb, rDb] = [await connect(alembicUrl), await connect(revisorUrl)];
      // null: no version table (a command both refused before creating it)
      const rowsOf = async (db: Awaited<ReturnType<typeof connect>>) =>
        (await db.query("SELECT to_regclass('alembic_version') AS t")).rows[0].t ? versionRows(db) : null;
      const rows = await rowsOf(rDb);
      expect(rows, revisorArgs.join(' ')).toEqual(await rowsOf(aDb));
      const tables = async (db: Awaited<ReturnType<typeof connect>>) =>
        (await tableNames(db)).filter((t) => t !== 'revisor_history');
      expect(await tables(rDb), revisorArgs.join(' ')).toEqual(await tables(aDb));
      await Promise.all([aDb.end(), rDb.end()]);
      return { alembicOk: a, revisor: r, rows };
    };
    both.project = project;
    both.env = env;
    return both;
  }

  /** Runs each command with both tools; each must succeed with both. */
  async function allAgree(both: Awaited<ReturnType<typeof side>>, commands: readonly (readonly string[])[]) {
    for (const command of commands) {
      const ran = await both([...command], [...command]);
      expect(ran.alembicOk, command.join(' ')).toBe(true);
      expect(ran.revisor.code, `${command.join(' ')}: ${ran.revisor.stderr}`).toBe(0);
    }
  }

  it('branch labels: label@head, label@+N, label@-N, label@base, label@<rev>, <rev>@head', async () => {
    const both = await side(
      [
        ['c0000', [], 'c0', undefined, { labels: ['core'] }],
        ['c1111', ['c0000'], 'c1'],
        ['c2222', ['c1111'], 'c2'],
        ['b0000', [], 'b0', undefined, { labels: ['billing'] }],
        ['b1111', ['b0000'], 'b1'],
      ],
      false,
    );
    // Two bases, two heads: plain "head" is refused by both.
    const head = await both(['upgrade', 'head'], ['upgrade', 'head']);
    expect(head.alembicOk).toBe(false);
    expect(head.revisor.code).toBe(13);
    await allAgree(both, [
      ['upgrade', 'billing@head'],
      ['upgrade', 'core@+1'],
      ['upgrade', 'core@+1'],
      ['downgrade', 'core@-1'],
      ['upgrade', 'c0000@head'],
      ['downgrade', 'billing@base'],
      ['upgrade', 'heads'],
      ['downgrade', 'core@c1111'],
    ]);
    const last = await both(['current'], ['current']);
    expect(last.rows).toEqual(['b1111', 'c1111']);
    const wrong = await both(['upgrade', 'billing@c2222'], ['upgrade', 'billing@c2222']);
    expect(wrong.alembicOk).toBe(false);
    expect(wrong.revisor.stderr).toContain('revision c2222 is not on branch billing');
  });

  it('depends_on: applied first, absorbed into the dependent row, removed with what it needs', async () => {
    const both = await side(
      [
        ['c0000', [], 'c0', undefined, { labels: ['core'] }],
        ['c1111', ['c0000'], 'c1'],
        ['b0000', [], 'b0', undefined, { labels: ['billing'] }],
        ['b1111', ['b0000'], 'b1', undefined, { dependsOn: ['c1111'] }],
      ],
      false,
    );
    const up = await both(['upgrade', 'b1111'], ['upgrade', 'b1111']);
    expect(up.revisor.code).toBe(0);
    expect(up.rows).toEqual(['b1111']);
    await allAgree(both, [
      ['upgrade', 'heads'],
      ['downgrade', 'c0000'],
      ['upgrade', 'billing@head'],
      ['downgrade', 'base'],
    ]);
    const ids = (out: string) =>
      out
        .trim()
        .split('\n')
        .map((l) => l.split(' ')[0])
        .sort();
    for (const flags of [[], ['--resolve-dependencies']]) {
      const alembicHeads = await alembic(both.project, 'postgres://unused', ['heads', ...flags]);
      const revisorHeads = await runCli(['heads', ...flags], both.env);
      expect(ids(revisorHeads.stdout), flags.join(' ')).toEqual(ids(alembicHeads));
    }
  });

  it("a run over several branches applies them in Alembic's order, so a failure leaves the same revisions", async () => {
    const both = await side(
      [
        ['r0000', [], 'r'],
        ['x1111', ['r0000'], 'x1', undefined, { fails: true }],
        ['x2222', ['x1111'], 'x2'],
        ['y1111', ['r0000'], 'y1'],
      ],
      false,
      undefined,
      true,
    );
    const up = await both(['upgrade', 'heads'], ['upgrade', 'heads']);
    expect(up.alembicOk).toBe(false);
    expect(up.revisor.code).toBe(24);
    // Alembic runs the branch loaded last (y) first: y1111 is in, x1111 failed.
    expect(up.rows).toEqual(['y1111']);
  });

  it('several version locations, one of them nested (version_locations, recursive_version_locations)', async () => {
    const spread: ChainEntry[] = [
      ['r0000', [], 'r', 'core'],
      ['a1111', ['r0000'], 'a', 'core'],
      ['b1111', ['r0000'], 'b', 'billing'],
      ['m2222', ['a1111', 'b1111'], 'm', 'billing/merges'],
    ];
    const both = await side(spread, true);
    const up = await both(['upgrade', 'heads'], ['upgrade', 'heads']);
    expect(up.alembicOk).toBe(true);
    expect(up.revisor.code).toBe(0);
    const down = await both(['downgrade', 'a1111'], ['downgrade', 'a1111']);
    expect(down.revisor.code).toBe(0);
  });

  it('stamp with several targets', async () => {
    const both = await side(chain, false);
    const stamped = await both(['stamp', 'a1111', 'b1111'], ['stamp', 'a1111', 'b1111']);
    expect(stamped.alembicOk).toBe(true);
    expect(stamped.revisor.code).toBe(0);
  });

  it('ensure-version creates the version table and nothing else', async () => {
    const both = await side(chain, false);
    const ensured = await both(['ensure_version'], ['ensure-version']);
    expect(ensured.alembicOk).toBe(true);
    expect(ensured.revisor.code).toBe(0);
  });

  it('a revision id longer than 32 characters, once the version column is widened', async () => {
    const longId = 'release.2026_11_28.add_users_table_for_billing';
    const both = await side(
      [
        ['r0000', [], 'r'],
        [longId, ['r0000'], 'long'],
      ],
      false,
      'CREATE TABLE alembic_version (version_num varchar(64) NOT NULL, ' +
        'CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num))',
    );
    const up = await both(['upgrade', 'head'], ['upgrade', 'head']);
    expect(up.alembicOk).toBe(true);
    expect(up.revisor.code).toBe(0);
    const down = await both(['downgrade', 'r0000'], ['downgrade', 'r0000']);
    expect(down.alembicOk).toBe(true);
  });

  it('prefixes match only ids longer than three characters', async () => {
    const both = await side(
      [
        ['abc', [], 't1'],
        ['abcd1', ['abc'], 't2'],
      ],
      false,
    );
    const up = await both(['upgrade', 'ab'], ['upgrade', 'ab']);
    expect(up.alembicOk).toBe(true);
    expect(up.revisor.code).toBe(0);
  });

  it("a relative step onto a merge's parents is refused by both, and changes nothing", async () => {
    const both = await side(chain, false);
    await both(['upgrade', 'heads'], ['upgrade', 'heads']);
    for (const target of ['-1', 'm2222-1', 'head-1']) {
      const refused = await both(['downgrade', target], ['downgrade', target]);
      expect(refused.alembicOk, target).toBe(false);
      expect(refused.revisor.code, target).toBe(12);
      expect(refused.revisor.stderr).toContain("reaches the merge's parents a1111, b1111");
    }
  });
});
