import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';

/**
 * What pg's `lib/crypto/utils.js` offers its SCRAM and MD5 authentication, on node:crypto's
 * synchronous primitives. pg's own runs on WebCrypto: loading it at start and a thread-pool
 * hop per HMAC cost about 2.5 ms of every connect, a twentieth of the init container's whole
 * no-op. The algorithms are the same (PBKDF2, HMAC and SHA-256 from the same OpenSSL), and
 * the unit test holds each function to WebCrypto's answer. The CLI's bundle puts this module
 * where pg requires its own (rolldown.config.mjs); the functions stay async because pg
 * awaits them.
 */
const md5Hex = (data: string | Buffer) => createHash('md5').update(data).digest('hex');

export { randomBytes };

export async function md5(text: string | Buffer): Promise<string> {
  return md5Hex(text);
}

// See AuthenticationMD5Password in the protocol's message flow.
export async function postgresMd5PasswordHash(user: string, password: string, salt: Buffer): Promise<string> {
  return `md5${md5Hex(Buffer.concat([Buffer.from(md5Hex(password + user)), salt]))}`;
}

export async function sha256(data: Buffer): Promise<Buffer> {
  return createHash('sha256').update(data).digest();
}

/** A WebCrypto name (SHA-256), as read from a server certificate for channel binding. */
export async function hashByName(name: string, data: Buffer): Promise<Buffer> {
  return createHash(name).update(data).digest();
}

export async function hmacSha256(key: Buffer, message: string): Promise<Buffer> {
  return createHmac('sha256', key).update(message).digest();
}

export async function deriveKey(password: string, salt: Buffer, iterations: number): Promise<Buffer> {
  return pbkdf2Sync(password, salt, iterations, 32, 'sha256');
}
