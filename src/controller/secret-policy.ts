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
  /**
   * Comma-separated hosts a resource's `host` may name for these credentials, beside the
   * Secret's own `host` key: `host` allows every port of that host, `host:port` (or
   * `[v6]:port`) that port only.
   */
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

interface HostRule {
  readonly host: string;
  /** null: every port. */
  readonly port: number | null;
}

function hostRule(text: string): HostRule {
  const bracketed = /^\[([^\]]+)\](?::(\d{1,5}))?$/.exec(text);
  if (bracketed) return { host: bracketed[1]!, port: bracketed[2] ? Number(bracketed[2]) : null };
  const withPort = /^([^:]+):(\d{1,5})$/.exec(text);
  if (withPort) return { host: withPort[1]!, port: Number(withPort[2]) };
  return { host: text, port: null };
}

/**
 * The hosts (and ports) the Secret's credentials may be sent to: its `host` key (on its
 * `port` key's port, when it has one) and its allow-list.
 */
function hostRules(secret: SecretObject): HostRule[] {
  const own = secret.data['host'];
  const ownPort = /^\d{1,5}$/.test(secret.data['port'] ?? '') ? Number(secret.data['port']) : null;
  return [
    ...(own ? [{ host: own, port: ownPort }] : []),
    ...list(secret.annotations[annotations.allowedHosts]).map(hostRule),
  ];
}

/** Whether the Secret lets its credentials go to `host` on `port`. */
export function permitsHost(secret: SecretObject, host: string, port: number): boolean {
  const wanted = host.toLowerCase();
  return hostRules(secret).some(
    (r) => r.host.toLowerCase() === wanted && (r.port === null || r.port === port),
  );
}

export const insecureAuthAllowed = (secret: SecretObject): boolean =>
  secret.annotations[annotations.allowInsecureAuth] === 'true';

/**
 * Every value a Secret holds, replaced in `text` by "***": what goes to status, Events and
 * logs passes through here (shown-text.ts), so a value never leaks even where a URL did not
 * parse and no other redaction could find the password in it. A URL's user and password
 * count as values of their own: a message that names the role (a connection error "as
 * app_user") names it without the rest of the URL.
 */
export function redact(text: string, secrets: readonly SecretObject[]): string {
  return redactValues(text, secretValues(secrets));
}

/** What redact replaces, longest first: computed once for many strings (a whole status). */
export function secretValues(secrets: readonly SecretObject[]): readonly string[] {
  return secrets
    .flatMap((s) => Object.values(s.data))
    .flatMap((v) => [v, ...urlCredentialsOf(v)])
    .filter((v) => v.length >= 3)
    .sort((a, b) => b.length - a.length);
}

export function redactValues(text: string, values: readonly string[]): string {
  let out = text;
  for (const value of values) if (out.includes(value)) out = out.split(value).join('***');
  return out;
}

function urlCredentialsOf(value: string): string[] {
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(value)) return [];
  try {
    const url = new URL(value);
    return [url.username, url.password].flatMap((part) => (part ? [part, decodeURIComponent(part)] : []));
  } catch {
    return [];
  }
}
