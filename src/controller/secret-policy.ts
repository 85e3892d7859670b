/**
 * Who may make the controller use a Secret, and for what (README "Security model").
 * Anyone who may create a DatabaseMigration could otherwise point the controller at any
 * Secret of the namespace, and at a host of their choosing: a confused deputy handing
 * another application's password to a listener. So a Secret opts in, names the resources
 * that may use it, and names the hosts its credentials may be sent to; all of it is read
 * from the Secret's own metadata, which only those who may write the Secret can set.
 */
export interface SecretObject {
  readonly data: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
}

export const annotations = {
  /** Comma-separated DatabaseMigration (or DatabaseMigrationSet) names that may use this Secret, or "*". */
  allowedMigrations: 'revisor.dev/allowed-migrations',
  /** Comma-separated hosts a resource's `host` may name for these credentials, beside the Secret's own `host` key. */
  allowedHosts: 'revisor.dev/allowed-hosts',
  /** "true": cleartext and MD5 password authentication are allowed (refused otherwise). */
  allowInsecureAuth: 'revisor.dev/allow-insecure-auth',
} as const;

const list = (text: string | undefined) =>
  (text ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

/**
 * Whether the Secret lets the DatabaseMigration `name` use it: by its name, or by the name
 * of the DatabaseMigrationSet that controls it (a tenant Secret names the set once rather
 * than each generated child).
 */
export function permits(secret: SecretObject, name: string, set?: string): boolean {
  const allowed = list(secret.annotations[annotations.allowedMigrations]);
  return allowed.includes('*') || allowed.includes(name) || (set !== undefined && allowed.includes(set));
}

/** The hosts the Secret's credentials may be sent to: its `host` key and its allow-list. */
export function allowedHosts(secret: SecretObject): string[] {
  const own = secret.data['host'];
  return [...(own ? [own] : []), ...list(secret.annotations[annotations.allowedHosts])].map((h) =>
    h.toLowerCase(),
  );
}

export const insecureAuthAllowed = (secret: SecretObject): boolean =>
  secret.annotations[annotations.allowInsecureAuth] === 'true';

/**
 * Every value a Secret holds, replaced in `text` by "***": what goes to status, Events and
 * logs passes through here, so a value never leaks even where a URL did not parse and no
 * other redaction could find the password in it.
 */
export function redact(text: string, secrets: readonly SecretObject[]): string {
  let out = text;
  const values = secrets
    .flatMap((s) => Object.values(s.data))
    .filter((v) => v.length >= 3)
    .sort((a, b) => b.length - a.length);
  for (const value of values) out = out.split(value).join('***');
  return out;
}
