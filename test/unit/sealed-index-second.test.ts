import { describe, expect, it } from 'vitest';
import { sameSecond } from '../../src/migrator/chain/index-file.js';

describe("a sealed index's directory mtime", () => {
  it.each([
    ['the same mtime', 100_700.25, 100_700.25, true],
    ['kept truncated to its second', 100_000, 100_700.25, true],
    ['kept rounded up to the next second', 101_000, 100_700.25, true],
    ['rounded down, a sub-second part under half', 100_000, 100_300, true],
    ['a later change in the next second, not whole', 101_200.5, 100_700.25, false],
    ['a later change two seconds on, kept whole', 102_000, 100_700.25, false],
    ['a whole next second when the sealed one rounds down', 101_000, 100_300, false],
  ])('%s: %s', (_what, now, sealed, same) => {
    expect(sameSecond(now, sealed)).toBe(same);
  });
});
