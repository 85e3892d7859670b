import { describe, expect, it } from 'vitest';
import { rolloutPending, type WorkloadState } from '../../../src/controller/migration/rollout.js';

const done: WorkloadState = {
  generation: 4,
  observedGeneration: 4,
  desired: 3,
  current: 3,
  updated: 3,
  available: 3,
  images: ['app:v2'],
};
const gate = { kind: 'Deployment' as const, name: 'web' };

describe('the rollout gate', () => {
  it('opens once every replica is updated and available and no old one remains', () => {
    expect(rolloutPending(gate, done)).toBeNull();
    expect(rolloutPending({ ...gate, image: 'app:v2' }, done)).toBeNull();
  });

  it('says what it waits for', () => {
    expect(rolloutPending(gate, null)).toBe('Deployment web does not exist yet');
    expect(rolloutPending({ ...gate, image: 'app:v3' }, done)).toBe('Deployment web does not run app:v3 yet');
    expect(rolloutPending(gate, { ...done, observedGeneration: 3 })).toContain(
      'has not seen its latest spec',
    );
    expect(rolloutPending(gate, { ...done, updated: 1 })).toContain('1 of 3 replicas updated');
    expect(rolloutPending(gate, { ...done, available: 2 })).toContain('2 of 3 replicas available');
    expect(rolloutPending(gate, { ...done, current: 5 })).toContain('still runs 2 old replica(s)');
  });
});
