import { describe, expect, it } from 'vitest';
import { cacheable } from '../../../src/controller/scheduling/kube-watch.js';

describe('what the informer keeps of an object', () => {
  it("drops managedFields and kubectl's last-applied copy, and keeps the rest", () => {
    const kept = cacheable({
      metadata: {
        name: 'a',
        generation: 3,
        managedFields: [{ manager: 'revisor' }],
        annotations: {
          'kubectl.kubernetes.io/last-applied-configuration': '{}',
          'revisor.dev/approved-plan': 'x',
        },
      },
      spec: { targetRevision: 'head' },
    });
    expect(kept).toEqual({
      metadata: { name: 'a', generation: 3, annotations: { 'revisor.dev/approved-plan': 'x' } },
      spec: { targetRevision: 'head' },
    });
  });

  it('leaves an object without annotations or metadata as it was', () => {
    expect(cacheable({ metadata: { name: 'a', managedFields: [] } })).toEqual({ metadata: { name: 'a' } });
    expect(cacheable({ kind: 'Status' })).toEqual({ kind: 'Status' });
  });
});
