import { describe, expect, it } from 'vitest';
import { pendingApproval } from '../../../src/controller/migration/approval.js';
import { RevisionGraph } from '../../../src/migrator/chain/graph.js';
import { parseSqlMigration } from '../../../src/migrator/chain/sql-file.js';
import type { Finding } from '../../../src/migrator/lint/lint.js';
import { plan } from '../../../src/migrator/plan/planner.js';
import { sqlMigration } from '../../support/cli.js';

const graph = RevisionGraph.build([
  parseSqlMigration(
    sqlMigration('add00001', null, 'CREATE TABLE t (id int, note text);', 'DROP TABLE t;'),
    '1.sql',
  ),
  parseSqlMigration(
    sqlMigration(
      'drop0002',
      'add00001',
      'ALTER TABLE t DROP COLUMN note;',
      'ALTER TABLE t ADD COLUMN note text;',
    ),
    '2.sql',
  ),
]);

describe('approval of plans', () => {
  it('Never runs; Destructive waits only for a plan that may destroy data; Always waits for any', () => {
    const creating = plan(graph, [], 'upgrade', 'add00001');
    const dropping = plan(graph, ['add00001'], 'upgrade', 'head');
    expect(pendingApproval('Never', dropping, undefined)).toBeNull();
    expect(pendingApproval('Destructive', creating, undefined)).toBeNull();
    expect(pendingApproval('Always', creating, undefined)?.message).toContain('spec.approval is Always');
    const pending = pendingApproval('Destructive', dropping, undefined);
    expect(pending?.plan).toEqual([expect.objectContaining({ revision: 'drop0002', destructive: true })]);
    // Downgrades undo what upgrades made: always destructive.
    expect(
      pendingApproval('Destructive', plan(graph, ['add00001'], 'downgrade', 'base'), undefined),
    ).not.toBeNull();
  });

  it('runs once the annotation names this plan; a plan from elsewhere has another hash', () => {
    const dropping = plan(graph, ['add00001'], 'upgrade', 'head');
    const { hash } = pendingApproval('Always', dropping, undefined)!;
    expect(hash).toMatch(/^[0-9a-f]{64}$/);
    expect(pendingApproval('Always', dropping, hash)).toBeNull();
    const fromBase = plan(graph, [], 'upgrade', 'head');
    expect(pendingApproval('Always', fromBase, hash)?.message).toContain(
      'the approved hash is of another plan',
    );
  });

  it('Destructive also waits for an unwaived lint error that is not harmless on the database', () => {
    const creating = plan(graph, [], 'upgrade', 'add00001');
    const finding = (
      there: { harmless: boolean; text: string } | null,
      waived: string | null = null,
    ): Finding => ({
      rule: 'create-index-non-concurrent',
      severity: 'error',
      revision: 'add00001',
      file: '1.sql',
      line: 5,
      statement: 'CREATE INDEX ix ON big (id)',
      message: 'CREATE INDEX on existing table big blocks its writes while it builds',
      advice: 'CREATE INDEX CONCURRENTLY',
      waived,
      cost: { table: 'big', work: 'build', lock: 'SHARE' },
      there,
    });
    const costly = finding({
      harmless: false,
      text: 'builds an index over big (≈ 48 M rows, 31 GB) under SHARE',
    });
    const pending = pendingApproval('Destructive', creating, undefined, [costly]);
    expect(pending?.message).toContain(
      'lint finds what locks or breaks a table of this database (add00001 create-index-non-concurrent)',
    );
    expect(pending?.plan[0]?.lint).toEqual([
      {
        rule: 'create-index-non-concurrent',
        severity: 'error',
        message:
          'CREATE INDEX on existing table big blocks its writes while it builds; builds an index over big (≈ 48 M rows, 31 GB) under SHARE',
      },
    ]);
    expect(
      pendingApproval('Destructive', creating, undefined, [finding({ harmless: true, text: 'small' })]),
    ).toBeNull();
    expect(
      pendingApproval('Destructive', creating, undefined, [finding(null, 'built before traffic')]),
    ).toBeNull();
  });
});
