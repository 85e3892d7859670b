import type { RevisionGraph } from '../chain/graph.js';
import type { Queryable } from '../pg/db.js';
import type { Direction } from '../plan/version-rows.js';
import type { Migrator } from '../run/migrator.js';
import { lineDifferences } from '../schema/catalog.js';
import type { Tables } from '../sql/bookkeeping.js';
import { snapshot } from './snapshot.js';

export interface CheckIssue {
  readonly kind:
    | 'heads'
    | 'chain-index'
    | 'missing-downgrade'
    | 'step-failed'
    | 'downgrade-trace'
    | 'reupgrade-differs'
    | 'schema-differs';
  readonly revision?: string;
  readonly message: string;
  readonly diff?: readonly string[];
}

/** The checks that need no database: the heads, and a downgrade for every revision with an upgrade. */
export function staticChecks(graph: RevisionGraph, expectedHeads?: readonly string[]): CheckIssue[] {
  const issues: CheckIssue[] = [];
  const heads = [...graph.heads].sort();
  if (expectedHeads) {
    const expected = [...expectedHeads].sort();
    if (heads.join(',') !== expected.join(',')) {
      issues.push({
        kind: 'heads',
        message: `heads are ${heads.join(', ') || 'none'}, expected ${expected.join(', ')}`,
      });
    }
  } else if (heads.length !== 1) {
    issues.push({
      kind: 'heads',
      message: `${heads.length} heads (${heads.join(', ')}); merge them with "revisor merge", or declare them with --heads`,
    });
  }
  for (const id of graph.ordered()) {
    const m = graph.get(id);
    if (m.upgrade().length > 0 && !m.hasDowngrade()) {
      issues.push({
        kind: 'missing-downgrade',
        revision: id,
        message: `${id} (${m.source}) has an upgrade but no downgrade`,
      });
    }
  }
  return issues;
}

/**
 * The staircase, on a scratch database: for each revision, upgrade one step and snapshot,
 * downgrade one step and compare with the snapshot from before the step, upgrade again
 * and compare with the first. Stops at the first revision that fails.
 */
export async function staircase(
  graph: RevisionGraph,
  migrator: Migrator,
  db: Queryable,
  tables: Tables,
  onRevision?: (revision: string) => void,
): Promise<CheckIssue[]> {
  let before = await snapshot(db, tables);
  for (const revision of graph.ordered()) {
    onRevision?.(revision);
    const source = graph.get(revision).source;
    const run = async (direction: Direction): Promise<CheckIssue | string[]> => {
      const result = await migrator.step(revision, direction);
      if (!result.error) return snapshot(db, tables);
      return {
        kind: 'step-failed',
        revision,
        message: `${direction} of ${revision} (${source}) failed: ${result.error.message}`,
      };
    };
    const after = await run('upgrade');
    if (!Array.isArray(after)) return [after];
    const restored = await run('downgrade');
    if (!Array.isArray(restored)) return [restored];
    const trace = lineDifferences(before, restored);
    if (trace.length > 0) {
      const message = `the downgrade of ${revision} (${source}) does not restore the schema from before its upgrade`;
      return [{ kind: 'downgrade-trace', revision, message, diff: trace }];
    }
    const again = await run('upgrade');
    if (!Array.isArray(again)) return [again];
    const drift = lineDifferences(after, again);
    if (drift.length > 0) {
      return [
        {
          kind: 'reupgrade-differs',
          revision,
          message: `upgrading ${revision} again gives another schema`,
          diff: drift,
        },
      ];
    }
    before = again;
  }
  return [];
}
