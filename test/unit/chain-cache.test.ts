import { describe, expect, it } from 'vitest';
import { ChainCache, chainFor } from '../../src/controller/migration/sources.js';
import { specSchema } from '../../src/controller/resource.js';
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

  it('reads the ConfigMap only when the version the watch saw is not the one cached', async () => {
    const cache = new ChainCache(4);
    let reads = 0;
    let stored = '7';
    const reader = {
      secret: async () => null,
      configMap: async () => {
        reads++;
        return {
          data: {
            '1.sql':
              '-- revision: a1\n-- down_revision: None\n-- migrate:upgrade\nSELECT 1;\n-- migrate:downgrade\n',
          },
          resourceVersion: stored,
        };
      },
    };
    const spec = specSchema.parse({
      database: { urlSecretRef: { name: 'db' } },
      migrations: { configMapRef: { name: 'chain' } },
    });
    let watched: string | undefined;
    const look = () => chainFor(spec, 'ns', reader, cache, () => watched);
    const first = await look();
    expect(first?.heads).toEqual(['a1']);
    expect(reads).toBe(1);
    // Not seen by the watch yet: read again.
    await look();
    expect(reads).toBe(2);
    watched = '7';
    expect(await look()).toBe(first);
    expect(reads).toBe(2);
    // The watch saw a change: read, and the new version is built.
    watched = '8';
    stored = '8';
    expect(await look()).not.toBe(first);
    expect(reads).toBe(3);
  });
});
