import { describe, expect, it } from 'vitest';
import { RevisionGraph } from '../../src/migrator/chain/graph.js';
import { fromDefinition } from '../../src/migrator/chain/loader.js';
import { plan } from '../../src/migrator/plan/planner.js';
import { batchFrom, maxBatchSize, nextBatchSize } from '../../src/migrator/run/batch-runner.js';
import { batchScript, stageSteps } from '../../src/migrator/sql/batch-sql.js';
import { defaultTables, prepareFinish } from '../../src/migrator/sql/bookkeeping.js';
import { graphOf, rev } from '../support/graphs.js';

const settings = { tables: defaultTables, lockTimeoutMs: 4000, statementTimeoutMs: 0, fence: 'SELECT 42' };

describe('batch scripts', () => {
  it('gives each step its transaction, its settings, the prepared finish and a progress row after COMMIT', () => {
    const script = batchScript(
      'transaction',
      [{ statements: [{ sql: 'CREATE TABLE a (id int) -- note' }] }],
      7,
      settings,
    );
    expect(script.split('\n;\n')).toEqual([
      'SELECT 6 AS revisor_step, clock_timestamp() AS revisor_at',
      prepareFinish(defaultTables),
      "BEGIN; SELECT set_config('lock_timeout', '4000', true), set_config('statement_timeout', '0', true); SELECT 42",
      "SELECT set_config('revisor.step_started', extract(epoch FROM clock_timestamp())::text, true)",
      'CREATE TABLE a (id int) -- note',
      'EXECUTE revisor_finish(7)',
      'COMMIT',
      'SELECT 7 AS revisor_step, clock_timestamp() AS revisor_at',
      'DEALLOCATE revisor_finish',
    ]);
  });

  it('in the run-wide transaction, opens a savepoint per step and writes no version rows', () => {
    const script = batchScript(
      'savepoint',
      [{ statements: [{ sql: 'SELECT 1' }, { sql: 'SELECT 2' }] }, { statements: [{ sql: 'SELECT 3' }] }],
      1,
      settings,
    );
    expect(script.split('\n;\n')).toEqual([
      'SELECT 0 AS revisor_step, clock_timestamp() AS revisor_at',
      'SAVEPOINT revisor_step',
      'SELECT 1',
      'SELECT 2',
      'SELECT 1 AS revisor_step, clock_timestamp() AS revisor_at',
      'SAVEPOINT revisor_step',
      'SELECT 3',
      'SELECT 2 AS revisor_step, clock_timestamp() AS revisor_at',
    ]);
  });

  it('reads a step from the setting staged for its ordinal, with quoted table names and no values in the text', () => {
    const sql = prepareFinish({ schema: 'My Schema', versionTable: 'alembic_version', historyTable: 'hist' });
    expect(sql).toMatch(/^PREPARE revisor_finish\(int\) AS /);
    expect(sql).toContain("current_setting('revisor.step_' || $1)::jsonb");
    expect(sql).toContain('DELETE FROM "My Schema".alembic_version');
    expect(sql).toContain('INSERT INTO "My Schema".hist');
    expect(sql.match(/\$\d/g)).toEqual(['$1']);
  });

  it('stages merges and branches as deletes, one update and inserts, passed as parameters', () => {
    const g = graphOf(['r'], ['x', 'r'], ['y', 'r'], ['m', 'x', 'y']);
    const steps = plan(g, [], 'upgrade', 'heads').steps;
    const stage = stageSteps(defaultTables, 'pod-1', steps, 3);
    expect(stage.sql).not.toContain('pod-1');
    expect(stage.params?.[0]).toEqual([3, 4, 5, 6]);
    const staged = (stage.params![1] as string[]).map((j) => JSON.parse(j));
    expect(staged.map((s) => [s.revision, s.deletes, s.update, s.inserts])).toEqual([
      ['r', [], null, ['r']],
      ['y', [], ['r', 'y'], []],
      ['x', [], null, ['x']],
      ['m', ['x'], ['y', 'm'], []],
    ]);
    expect(staged[3]).toMatchObject({
      executedBy: 'pod-1',
      versionTable: 'alembic_version',
      headsAfter: 'm',
    });
  });
});

describe('batch sizing', () => {
  it('takes consecutive transactional steps without parameters, at most the size asked', () => {
    const withParams = fromDefinition(
      {
        revision: 'p',
        downRevision: 'b',
        message: 'bulk insert',
        upgrade: (op) => void op.execute('INSERT INTO t VALUES ($1)', [1]),
        downgrade: () => undefined,
      },
      '<test>/p.ts',
    );
    const g = RevisionGraph.build([
      rev('a'),
      rev('b', ['a']),
      withParams,
      rev('c', ['p'], { transactional: false }),
      rev('d', ['c']),
    ]);
    const steps = plan(g, [], 'upgrade', 'head').steps;
    const ids = (index: number, size: number) => batchFrom(steps, index, size).map((s) => s.revision);
    expect(ids(0, 8)).toEqual(['a', 'b']);
    expect(ids(0, 1)).toEqual(['a']);
    expect(ids(2, 8)).toEqual([]);
    expect(ids(3, 8)).toEqual([]);
    expect(ids(4, 8)).toEqual(['d']);
  });

  it('doubles while scripts are quick, holds when they are not, and drops to one after a slow one', () => {
    expect(nextBatchSize(1, 5)).toBe(2);
    expect(nextBatchSize(32, 5)).toBe(maxBatchSize);
    expect(nextBatchSize(maxBatchSize, 5)).toBe(maxBatchSize);
    expect(nextBatchSize(8, 500)).toBe(8);
    expect(nextBatchSize(8, 5000)).toBe(1);
  });
});
