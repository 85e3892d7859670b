import { describe, expect, it } from 'vitest';
import { RevisionGraph } from '../../src/migrator/chain/graph.js';
import { parseSqlMigration } from '../../src/migrator/chain/sql-file.js';
import { inspect } from '../../src/migrator/plan/inspect.js';
import { sqlMigration } from '../support/cli.js';

const graph = RevisionGraph.build(
  ['a1111111', 'b2222222', 'c3333333'].map((id, i, ids) =>
    parseSqlMigration(
      sqlMigration(id, ids[i - 1] ?? null, `CREATE TABLE t${i} (id int);`, `DROP TABLE t${i};`),
      `${i}.sql`,
    ),
  ),
);
const recorded = (revision: string) => new Map([[revision, graph.get(revision).checksum('upgrade')]]);

describe('inspect: what a run checks before it plans, as data', () => {
  it('plans up or down toward the resolved target', () => {
    const up = inspect(graph, ['a1111111'], recorded('a1111111'), 'head');
    expect(up).toMatchObject({
      kind: 'planned',
      target: ['c3333333'],
      checksumDrift: [],
      checksumError: null,
    });
    expect(up.kind === 'planned' && up.plan.steps.map((s) => `${s.direction} ${s.revision}`)).toEqual([
      'upgrade b2222222',
      'upgrade c3333333',
    ]);
    const down = inspect(graph, ['c3333333'], new Map(), 'a1111111');
    expect(down.kind === 'planned' && down.plan.steps.map((s) => `${s.direction} ${s.revision}`)).toEqual([
      'downgrade c3333333',
      'downgrade b2222222',
    ]);
  });

  it('names what refuses a plan: heads the chain lacks, a target that does not resolve, edited revisions', () => {
    expect(inspect(graph, ['ffff0000'], new Map(), 'head')).toMatchObject({
      kind: 'unknown-heads',
      error: { code: 'UnknownRevision' },
    });
    expect(inspect(graph, ['a1111111'], new Map(), 'zzzz9999')).toMatchObject({
      kind: 'bad-target',
      heads: ['a1111111'],
      error: { code: 'RevisionNotFound' },
    });
    const edited = inspect(graph, ['b2222222'], new Map([['a1111111', 'f'.repeat(64)]]), 'head');
    expect(edited).toMatchObject({
      kind: 'planned',
      checksumDrift: [{ revision: 'a1111111' }],
      checksumError: { code: 'ChecksumMismatch' },
    });
  });
});
