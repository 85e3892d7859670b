import { describe, expect, it } from 'vitest';
import { RevisionGraph } from '../../src/migrator/chain/graph.js';
import { plan } from '../../src/migrator/plan/planner.js';
import { rev } from '../support/graphs.js';

const length = 100_000;
const ids = Array.from({ length }, (_, i) => `r${i}`);

describe('a 100,000-revision chain', () => {
  // Built once: the graph itself is what is under test, and each case reads it.
  const graph = RevisionGraph.build(ids.map((id, i) => rev(id, i === 0 ? [] : [ids[i - 1]!])));

  it('loads without overflowing the call stack and has one head and one base', () => {
    expect(graph.size).toBe(length);
    expect(graph.heads).toEqual([ids[length - 1]]);
    expect(graph.bases).toEqual(['r0']);
  });

  it('plans head from base in dependency order, and base from head in reverse', () => {
    const up = plan(graph, [], 'upgrade', 'head');
    expect(up.steps.map((s) => s.revision)).toEqual(ids);
    expect(up.toHeads).toEqual([ids[length - 1]]);
    const down = plan(graph, [ids[length - 1]!], 'downgrade', 'base');
    expect(down.steps.length).toBe(length);
    expect(down.steps[0]!.revision).toBe(ids[length - 1]);
    expect(down.toHeads).toEqual([]);
  });

  it('finds a cycle at the bottom of a long chain', () => {
    const cyclic = ids.map((id, i) => rev(id, [ids[i === 0 ? length - 1 : i - 1]!]));
    expect(() => RevisionGraph.build(cyclic)).toThrow(/form a cycle/);
  });
});
