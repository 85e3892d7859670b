import { describe, expect, it } from 'vitest';
import { RevisionGraph } from '../../src/migrator/chain/graph.js';
import { fromDefinition } from '../../src/migrator/chain/loader.js';
import { isRevisorError } from '../../src/migrator/errors/errors.js';
import { planForPhase } from '../../src/migrator/plan/phases.js';
import { plan, planToward } from '../../src/migrator/plan/planner.js';
import { resolveTarget } from '../../src/migrator/plan/targets.js';
import { transition } from '../../src/migrator/plan/version-rows.js';
import { graphOf, rev } from '../support/graphs.js';

const definitionOf = (id: string, down: string) => ({
  revision: id,
  downRevision: down,
  message: id,
  upgrade: () => undefined,
  downgrade: () => undefined,
});

// a1 -> a2 -> a3            linear
const linear = () => graphOf(['a1'], ['a2', 'a1'], ['a3', 'a2']);
// r -> x1 -> x2 ; r -> y1   branch at r, two heads x2 and y1; m merges them
const branched = () => graphOf(['r'], ['x1', 'r'], ['x2', 'x1'], ['y1', 'r']);
const merged = () => graphOf(['r'], ['x1', 'r'], ['x2', 'x1'], ['y1', 'r'], ['m', 'x2', 'y1'], ['z', 'm']);

const steps = (p: ReturnType<typeof plan>) =>
  p.steps.map((s) => `${s.direction === 'upgrade' ? '+' : '-'}${s.revision}`);

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    if (isRevisorError(err)) return err.code;
    throw err;
  }
  return undefined;
}

describe('targets', () => {
  it('resolves head, heads, base, ids, prefixes and relative targets', () => {
    const g = linear();
    expect(resolveTarget(g, 'head', [])).toEqual(['a3']);
    expect(resolveTarget(g, 'heads', [])).toEqual(['a3']);
    expect(resolveTarget(g, 'base', ['a3'])).toEqual([]);
    expect(resolveTarget(g, 'a2', [])).toEqual(['a2']);
    expect(resolveTarget(g, '+2', [])).toEqual(['a2']);
    expect(resolveTarget(g, '+1', ['a2'])).toEqual(['a3']);
    expect(resolveTarget(g, '-1', ['a3'])).toEqual(['a2']);
    expect(resolveTarget(g, '-3', ['a3'])).toEqual([]);
    expect(resolveTarget(g, 'a1+2', [])).toEqual(['a3']);
    expect(resolveTarget(g, 'a3-2', [])).toEqual(['a1']);
    expect(resolveTarget(g, 'head-1', [])).toEqual(['a2']);
  });

  it('names the heads when head is ambiguous, and the candidates of a prefix', () => {
    const g = branched();
    expect(codeOf(() => resolveTarget(g, 'head', []))).toBe('MultipleHeads');
    expect(() => resolveTarget(g, 'head', [])).toThrow(/x2, y1/);
    expect(resolveTarget(g, 'heads', [])).toEqual(['x2', 'y1']);
    const long = graphOf(['r000'], ['x111', 'r000'], ['x222', 'r000']);
    expect(codeOf(() => resolveTarget(long, 'x', []))).toBe('AmbiguousRevision');
    expect(() => resolveTarget(long, 'x', [])).toThrow(/x111, x222/);
    expect(codeOf(() => resolveTarget(g, 'nope', []))).toBe('RevisionNotFound');
  });

  it('refuses relative walks that fork, pass base or run past the head', () => {
    expect(codeOf(() => resolveTarget(branched(), 'r+1', []))).toBe('AmbiguousRevision');
    expect(codeOf(() => resolveTarget(merged(), 'm-2', []))).toBe('AmbiguousRevision');
    expect(codeOf(() => resolveTarget(linear(), '-4', ['a3']))).toBe('InvalidTarget');
    expect(codeOf(() => resolveTarget(linear(), '+1', ['a3']))).toBe('InvalidTarget');
    expect(codeOf(() => resolveTarget(branched(), '-1', ['x2', 'y1']))).toBe('MultipleHeads');
  });

  it("refuses, as Alembic does, a relative step that lands on a merge's parents", () => {
    // m merges x2 and y1: one step down from it is two revisions, not one.
    for (const [text, heads] of [
      ['-1', ['m']],
      ['m-1', []],
    ] as const) {
      expect(codeOf(() => resolveTarget(merged(), text, heads))).toBe('AmbiguousRevision');
      expect(() => resolveTarget(merged(), text, heads)).toThrow(/reaches the merge's parents x2, y1/);
    }
    expect(resolveTarget(merged(), 'z-1', [])).toEqual(['m']);
  });

  it('names the relative targets to use when the database has several heads', () => {
    expect(() => resolveTarget(branched(), '-1', ['x2', 'y1'])).toThrow(/x2-1 or y1-1/);
  });

  it("matches prefixes by Alembic's rule: only ids longer than three characters", () => {
    const g = graphOf(['abc'], ['abcd1', 'abc'], ['zz99', 'abcd1']);
    expect(resolveTarget(g, 'abc', [])).toEqual(['abc']);
    expect(resolveTarget(g, 'ab', [])).toEqual(['abcd1']);
    expect(resolveTarget(g, 'z', [])).toEqual(['zz99']);
    expect(() => resolveTarget(g, 'q', [])).toThrow(/give at least four characters/);
  });

  it('refuses a walk below base with InvalidTarget', () => {
    expect(codeOf(() => resolveTarget(linear(), 'a1-2', []))).toBe('InvalidTarget');
    expect(() => resolveTarget(linear(), 'a1-2', [])).toThrow(/goes below base/);
  });

  it('refuses an upgrade whose count down lands on base, as Alembic does; a downgrade may go there', () => {
    expect(codeOf(() => plan(linear(), [], 'upgrade', 'a2-2'))).toBe('InvalidTarget');
    expect(() => plan(linear(), [], 'upgrade', 'a2-2')).toThrow(
      /counts down to base, where an upgrade cannot go/,
    );
    expect(steps(plan(linear(), [], 'upgrade', 'a2-1'))).toEqual(['+a1']);
    expect(steps(plan(linear(), ['a2'], 'downgrade', 'a2-2'))).toEqual(['-a2', '-a1']);
  });
});

describe('planner', () => {
  it('plans a linear upgrade and downgrade', () => {
    const g = linear();
    expect(steps(plan(g, [], 'upgrade', 'head'))).toEqual(['+a1', '+a2', '+a3']);
    expect(steps(plan(g, ['a1'], 'upgrade', '+1'))).toEqual(['+a2']);
    expect(steps(plan(g, ['a3'], 'upgrade', 'head'))).toEqual([]);
    expect(steps(plan(g, ['a3'], 'upgrade', 'a1'))).toEqual([]);
    expect(steps(plan(g, ['a3'], 'downgrade', 'base'))).toEqual(['-a3', '-a2', '-a1']);
    expect(steps(plan(g, ['a3'], 'downgrade', '-1'))).toEqual(['-a3']);
    expect(plan(g, ['a3'], 'downgrade', 'a1').toHeads).toEqual(['a1']);
  });

  it('refuses a downgrade to a revision that is not applied, and unknown database revisions', () => {
    expect(codeOf(() => plan(linear(), ['a1'], 'downgrade', 'a3'))).toBe('InvalidTarget');
    expect(codeOf(() => plan(linear(), ['zz'], 'upgrade', 'head'))).toBe('UnknownRevision');
  });

  it("upgrades both branches with heads in Alembic's order (the branch loaded last first, each kept together)", () => {
    const p = plan(branched(), [], 'upgrade', 'heads');
    expect(steps(p)).toEqual(['+r', '+y1', '+x1', '+x2']);
    expect(p.toHeads).toEqual(['x2', 'y1']);
    // Entering the second branch inserts a row: y1's row stays.
    expect(p.steps[2]!.changes).toEqual([{ kind: 'insert', revision: 'x1' }]);
  });

  it('upgrades one branch at a time', () => {
    const g = branched();
    const p = plan(g, ['x2'], 'upgrade', 'y1');
    expect(steps(p)).toEqual(['+y1']);
    expect(p.toHeads).toEqual(['x2', 'y1']);
  });

  it('merges: deletes one merged head and updates the other to the merge', () => {
    const g = merged();
    const p = plan(g, ['x2', 'y1'], 'upgrade', 'head');
    expect(steps(p)).toEqual(['+m', '+z']);
    expect(p.steps[0]!.changes).toEqual([
      { kind: 'delete', revision: 'x2' },
      { kind: 'update', from: 'y1', to: 'm' },
    ]);
    expect(p.steps[0]!.headsAfter).toEqual(['m']);
    expect(p.toHeads).toEqual(['z']);
  });

  it('plans a full upgrade through a merge from base', () => {
    const p = plan(merged(), [], 'upgrade', 'head');
    expect(steps(p)).toEqual(['+r', '+y1', '+x1', '+x2', '+m', '+z']);
    expect(p.toHeads).toEqual(['z']);
  });

  it('unmerges on downgrade: the merge row becomes both parents again', () => {
    const g = merged();
    const p = plan(g, ['z'], 'downgrade', 'x2');
    expect(steps(p)).toEqual(['-z', '-m']);
    expect(p.steps[1]!.changes).toEqual([
      { kind: 'insert', revision: 'x2' },
      { kind: 'update', from: 'm', to: 'y1' },
    ]);
    expect(p.toHeads).toEqual(['x2', 'y1']);
  });

  it('downgrades one branch, leaving the other, and deletes its row at the branch point', () => {
    const g = branched();
    const p = plan(g, ['x2', 'y1'], 'downgrade', 'r');
    expect(steps(p)).toEqual(['-x2', '-x1', '-y1']);
    expect(p.toHeads).toEqual(['r']);
    const down = plan(g, ['x2', 'y1'], 'downgrade', 'x1');
    expect(steps(down)).toEqual(['-x2']);
    expect(down.toHeads).toEqual(['x1', 'y1']);
    const y = transition(g, ['x2', 'y1'], 'y1', 'downgrade');
    expect(y.changes).toEqual([{ kind: 'delete', revision: 'y1' }]);
  });

  it('downgrades everything to base across a merge', () => {
    const p = plan(merged(), ['z'], 'downgrade', 'base');
    expect(new Set(steps(p))).toEqual(new Set(['-z', '-m', '-x2', '-x1', '-y1', '-r']));
    expect(steps(p)[0]).toBe('-z');
    expect(steps(p).at(-1)).toBe('-r');
    expect(p.toHeads).toEqual([]);
  });

  it('is frozen data', () => {
    const p = plan(linear(), [], 'upgrade', 'head');
    expect(Object.isFrozen(p)).toBe(true);
    expect(Object.isFrozen(p.steps)).toBe(true);
  });

  it('plans toward a target whichever way it lies', () => {
    const g = branched();
    expect(steps(planToward(g, ['x1'], ['x2']))).toEqual(['+x2']);
    expect(steps(planToward(g, ['x2', 'y1'], ['x1']))).toEqual(['-x2']);
    expect(planToward(g, ['x2', 'y1'], ['x1']).toHeads).toEqual(['x1', 'y1']);
    const there = planToward(g, ['x2'], ['x2']);
    expect(there.steps).toEqual([]);
    expect(steps(planToward(g, ['x2', 'y1'], []))).toEqual(['-x2', '-x1', '-y1', '-r']);
  });
});

describe('deploy phases', () => {
  it('pre-deploy stops before the first post-deploy revision; post-deploy and downgrades run whole', () => {
    const graph = RevisionGraph.build([
      rev('a1'),
      rev('a2', ['a1']),
      fromDefinition({ ...definitionOf('a3', 'a2'), phase: 'post-deploy' }, '<test>/a3.ts'),
      rev('a4', ['a3']),
    ]);
    const full = plan(graph, [], 'upgrade', 'head');
    const pre = planForPhase(full, 'pre-deploy');
    expect(pre.plan.steps.map((s) => s.revision)).toEqual(['a1', 'a2']);
    expect(pre.plan.toHeads).toEqual(['a2']);
    expect(pre.held.map((s) => s.revision)).toEqual(['a3', 'a4']);
    expect(planForPhase(full, 'post-deploy').plan).toBe(full);
    const down = plan(graph, ['a4'], 'downgrade', 'base');
    expect(planForPhase(down, 'pre-deploy')).toEqual({ plan: down, held: [] });
  });
});
