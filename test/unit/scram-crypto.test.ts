import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import * as ours from '../../src/migrator/pg/scram-crypto.js';

// pg's own WebCrypto functions are the reference the bundle's replacement must match.
const theirs = createRequire(import.meta.url)('pg/lib/crypto/utils.js') as typeof ours;
const hex = (b: unknown) => (typeof b === 'string' ? b : Buffer.from(b as Uint8Array).toString('hex'));

describe('SCRAM and MD5 primitives on node:crypto', () => {
  const salt = Buffer.from('c2FsdHNhbHRzYWx0c2FsdA==', 'base64');
  const cases: [string, () => Promise<unknown>, () => Promise<unknown>][] = [
    [
      'deriveKey',
      () => ours.deriveKey('pässwörd', salt, 4096),
      () => theirs.deriveKey('pässwörd', salt, 4096),
    ],
    [
      'hmacSha256',
      () => ours.hmacSha256(Buffer.from('key'), 'Client Key'),
      () => theirs.hmacSha256(Buffer.from('key'), 'Client Key'),
    ],
    ['sha256', () => ours.sha256(Buffer.from('stored')), () => theirs.sha256(Buffer.from('stored'))],
    [
      'hashByName SHA-384',
      () => ours.hashByName('SHA-384', Buffer.from('cert')),
      () => theirs.hashByName('SHA-384', Buffer.from('cert')),
    ],
    ['md5', () => ours.md5('text'), () => theirs.md5('text')],
    [
      'postgresMd5PasswordHash',
      () => ours.postgresMd5PasswordHash('alice', 'secret', Buffer.from([1, 2, 3, 4])),
      () => theirs.postgresMd5PasswordHash('alice', 'secret', Buffer.from([1, 2, 3, 4])),
    ],
  ];
  it.each(cases)('%s gives what pg gives', async (_name, mine, reference) => {
    expect(hex(await mine())).toBe(hex(await reference()));
  });

  it('randomBytes gives fresh bytes of the length asked', () => {
    const [a, b] = [ours.randomBytes(18), ours.randomBytes(18)];
    expect(a).toHaveLength(18);
    expect(a.equals(b)).toBe(false);
  });
});
