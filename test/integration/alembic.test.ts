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

  async function side(spread: readonly ChainEntry[], recursive: boolean, prepare?: string) {
    const alembicUrl = await createTestDatabase();
    const revisorUrl = await createTestDatabase();
    if (prepare) {
      for (const url of [alembicUrl, revisorUrl]) {
        const db = await connect(url);
        await db.query(prepare);
        await db.end();
      }
    }
    const project = await alembicProject(spread);
    const env = { DATABASE_URL: revisorUrl, REVISOR_MIGRATIONS: await revisorChain(spread) };
    const extra = recursive ? ['--recursive'] : [];
    const both = async (alembicArgs: string[], revisorArgs: string[]) => {
      const a = await alembic(project, alembicUrl, alembicArgs).then(
        () => true,
        () => false,
      );
      const r = await runCli([...revisorArgs, ...extra], env);
      const [aDb, rDb] = [await connect(alembicUrl), await connect(revisorUrl)];
      expect(await versionRows(rDb), revisorArgs.join(' ')).toEqual(await versionRows(aDb));
      const tables = async (db: Awaited<ReturnType<typeof connect>>) =>
        (await tableNames(db)).filter((t) => t !== 'revisor_history');
      expect(await tables(rDb), revisorArgs.join(' ')).toEqual(await tables(aDb));
      await Promise.all([aDb.end(), rDb.end()]);
      return { alembicOk: a, revisor: r };
    };
    return both;
  }

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
