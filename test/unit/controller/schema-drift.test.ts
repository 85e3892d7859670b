import { describe, expect, it } from 'vitest';
import { schemaDriftCondition } from '../../../src/controller/migration/schema-drift.js';

const recorded = { fingerprint: 'f', recordedAt: new Date(0), revision: 'abc123' };

describe('the SchemaDrift condition', () => {
  it('is absent with nothing recorded or nothing changed', () => {
    expect(schemaDriftCondition({ recorded: null, differences: [] })).toBeNull();
    expect(schemaDriftCondition({ recorded, differences: [] })).toBeNull();
  });

  it('names the first differences and counts the rest', () => {
    const differences = Array.from({ length: 7 }, (_, i) => `- column public.t.c${i} text`);
    const drift = schemaDriftCondition({ recorded, differences });
    expect(drift?.reason).toBe('SchemaDrift');
    expect(drift?.message).toContain('since abc123 was applied (7 difference(s): - column public.t.c0 text;');
    expect(drift?.message).toContain('- column public.t.c4 text; and 2 more');
    expect(drift?.message).not.toContain('c5');
  });
});
