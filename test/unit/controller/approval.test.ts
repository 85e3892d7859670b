import { describe, expect, it } from 'vitest';
import { pendingApproval } from '../../../src/controller/approval.js';
import { RevisionGraph } from '../../../src/migrator/chain/graph.js';
import { parseSqlMigration } from '../../../src/migrator/chain/sql-file.js';
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
});
