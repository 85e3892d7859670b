import { describe, expect, it } from 'vitest';
import { ChainCache } from '../../src/controller/migration/sources.js';
import { RevisionGraph } from '../../src/migrator/index.js';

describe('ChainCache', () => {
  it('parses a source once per version, again when the version changes, and forgets the least recently used', () => {
    const cache = new ChainCache(2);
    let builds = 0;
    const build = () => {
      builds++;
      return RevisionGraph.build([]);
    };
    const a1 = cache.get('ns/a', '1', build);
    expect(cache.get('ns/a', '1', build)).toBe(a1);
    expect(builds).toBe(1);
    expect(cache.get('ns/a', '2', build)).not.toBe(a1);
    expect(builds).toBe(2);
    cache.get('ns/b', '1', build);
    cache.get('ns/a', '2', build); // a is now the most recently used
    cache.get('ns/c', '1', build); // b goes
    expect(builds).toBe(4);
    cache.get('ns/a', '2', build);
    expect(builds).toBe(4);
    cache.get('ns/b', '1', build);
    expect(builds).toBe(5);
  });
});
