import { describe, expect, it } from 'vitest';
import { RevisionGraph } from '../../src/migrator/chain/graph.js';
import { docstringFields, readAlembicScript } from '../../src/migrator/import/python-script.js';
import { rev } from '../support/graphs.js';

describe('reading an Alembic script without running it', () => {
  it('reads plain and annotated assignments, tuples over several lines, None and the docstring', () => {
    const script = readAlembicScript(
      [
        '"""merge billing and core',
        '',
        'Revision ID: 9f8e7d6c5b4a',
        "Revises: 1a2b3c4d5e6f, 'odd'",
        'Create Date: 2025-10-18 02:30:00.123456',
        '',
        '"""',
        '# revision identifiers, used by Alembic.',
        "revision: str = '9f8e7d6c5b4a'",
        'down_revision: Union[str, Sequence[str], None] = (',
        "    '1a2b3c4d5e6f',  # core",
        '    "0f0e0d0c0b0a",',
        ')',
        'branch_labels = None',
        "depends_on = ['billing']",
        'def upgrade():',
        "    revision = 'not this one'",
      ].join('\n'),
    );
    expect(script).toMatchObject({
      revision: '9f8e7d6c5b4a',
      downRevisions: ['1a2b3c4d5e6f', '0f0e0d0c0b0a'],
      branchLabels: [],
      dependsOn: ['billing'],
    });
    expect(docstringFields(script.docstring)).toEqual({
      message: 'merge billing and core',
      createDate: '2025-10-18 02:30:00.123456',
    });
  });

  it('says which line it cannot read', () => {
    expect(() => readAlembicScript("revision = '1'\ndown_revision = compute()\n")).toThrow(
      /line 2: expected None, a string/,
    );
    expect(readAlembicScript('x = 1\n').revision).toBeNull();
  });
});

describe('branch labels', () => {
  it('cover the declaring revision, what grows from it, and the straight trunk below it, as in Alembic', () => {
    // r -> t -> a1 (label a) -> a2 ; r -> b1 : the trunk t is a's alone, r is shared
    const graph = RevisionGraph.build([
      rev('r'),
      rev('t', ['r']),
      rev('a1', ['t'], { branchLabels: ['a'] }),
      rev('a2', ['a1']),
      rev('b1', ['r'], { branchLabels: ['b'] }),
    ]);
    expect(['r', 't', 'a1', 'a2', 'b1'].map((id) => graph.labels(id))).toEqual([
      [],
      ['a'],
      ['a'],
      ['a'],
      ['b'],
    ]);
    expect(graph.labelOwner('a')).toBe('a1');
  });

  it('refuses a label used twice, or equal to a revision id, and a dependency that names nothing', () => {
    expect(() =>
      RevisionGraph.build([rev('r1', [], { branchLabels: ['x'] }), rev('r2', [], { branchLabels: ['x'] })]),
    ).toThrow(/branch label "x" of revision r2 is already used by revision r1/);
    expect(() => RevisionGraph.build([rev('r1'), rev('r2', [], { branchLabels: ['r1'] })])).toThrow(
      /already used/,
    );
    expect(() => RevisionGraph.build([rev('r1', [], { dependsOn: ['nope'] })])).toThrow(
      /depends on nope, which is neither a revision nor a branch label/,
    );
  });
});
