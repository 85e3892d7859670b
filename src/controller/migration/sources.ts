import { type ConnectionOptions, parseSqlMigration, RevisionGraph } from '../../migrator/index.js';
import { httpStatus } from '../http-status.js';
import { Lru } from '../lru.js';
import { Reason, type ReasonName } from '../reasons.js';
import type { Spec } from '../resource.js';
import {
  annotations,
  insecureAuthAllowed,
  permits,
  permitsHost,
  type SecretObject,
} from '../secret-policy.js';

/** What the reconciler reads from the cluster besides the resource itself. */
export interface ObjectReader {
  /** A Secret's data, decoded, and its annotations; null when it does not exist. */
  secret(namespace: string, name: string): Promise<SecretObject | null>;
  configMap(
    namespace: string,
    name: string,
  ): Promise<{ data: Record<string, string>; resourceVersion: string } | null>;
}

export class SourceError extends Error {
  constructor(
    readonly reason: ReasonName,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Reads a referenced object; an API refusal (403, 400, …) becomes a condition, not a silent
 * retry. An API server that is unreachable, overloaded (429) or failing (5xx) is not the
 * reference's fault: that goes back to the work queue.
 */
async function read<T>(what: string, get: () => Promise<T>): Promise<T> {
  try {
    return await get();
  } catch (err) {
    const status = httpStatus(err);
    if (status === undefined || status === 429 || status >= 500) throw err;
    throw new SourceError(
      Reason.ReferenceUnreadable,
      `cannot read ${what}: the API server answered ${status}; check the name and the operator's RBAC`,
    );
  }
}

/** Who asks for a Secret: a DatabaseMigration, and the set that controls it if any. */
export interface Requester {
  readonly name: string;
  readonly set?: string | undefined;
}

/** A Secret the resource may use (secret-policy.ts), or a SourceError saying why not. */
async function permittedSecret(
  reader: ObjectReader,
  namespace: string,
  secretName: string,
  { name, set }: Requester,
): Promise<SecretObject> {
  const secret = await read(`Secret ${namespace}/${secretName}`, () => reader.secret(namespace, secretName));
  if (!secret) {
    throw new SourceError(
      Reason.SecretNotFound,
      `Secret ${namespace}/${secretName} does not exist; create it (it is retried when it appears)`,
    );
  }
  if (!permits(secret, name, set)) {
    throw new SourceError(
      Reason.SecretNotPermitted,
      `Secret ${namespace}/${secretName} does not allow DatabaseMigration ${name} to use it: whoever may write ` +
        `the Secret annotates it ${annotations.allowedMigrations}=${set ?? name} (or "*")`,
    );
  }
  return secret;
}

function secretKey(secret: SecretObject, namespace: string, secretName: string, key: string): string {
  const value = secret.data[key];
  if (value === undefined || value === '') {
    throw new SourceError(Reason.SecretNotFound, `Secret ${namespace}/${secretName} has no key "${key}"`);
  }
  return value;
}

// RFC 1123 host names, IPv4 and IPv6 literals: what a URL's host can carry unchanged.
const hostName = /^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/i;
const ipv6 = /^[0-9a-f:.]+$/i;
export const isHost = (host: string): boolean =>
  hostName.test(host) || (host.includes(':') && ipv6.test(host));

/**
 * The connection the spec describes, from Secrets the resource may use (never copied
 * anywhere else), and the Secrets read, whose values the caller redacts from anything
 * it writes.
 */
export async function connectionFor(
  spec: Spec,
  namespace: string,
  name: Requester,
  reader: ObjectReader,
  base: { applicationName: string; connectTimeoutMs: number },
): Promise<{ connection: ConnectionOptions; secrets: SecretObject[] }> {
  const db = spec.database;
  if (db.urlSecretRef) {
    const ref = db.urlSecretRef;
    const secret = await permittedSecret(reader, namespace, ref.name, name);
    const url = secretKey(secret, namespace, ref.name, ref.key);
    if (!isDatabaseUrl(url)) {
      throw new SourceError(
        Reason.InvalidDatabaseURL,
        `key "${ref.key}" of Secret ${namespace}/${ref.name} is not a postgres:// or postgresql:// URL with a host ` +
          '(its value is not shown); fix the Secret',
      );
    }
    return {
      connection: { ...base, url, refuseInsecureAuth: !insecureAuthAllowed(secret) },
      secrets: [secret],
    };
  }
  const host = db.host!;
  if (!isHost(host)) {
    throw new SourceError(
      Reason.InvalidSpec,
      'spec.database.host is not a host name or an IP address (no port, user or path: the port goes in spec.database.port)',
    );
  }
  const credentialsName = db.credentialsSecretRef!.name;
  const credentials = await permittedSecret(reader, namespace, credentialsName, name);
  if (!permitsHost(credentials, host, db.port)) {
    throw new SourceError(
      Reason.HostNotPermitted,
      `Secret ${namespace}/${credentialsName} does not allow its credentials to be sent to ${host} port ${db.port}: ` +
        `the host comes from the Secret's "host" (and "port") keys or its ${annotations.allowedHosts} annotation ` +
        '(host, or host:port for one port only), set by whoever may write the Secret',
    );
  }
  const user = secretKey(credentials, namespace, credentialsName, 'username');
  const password = secretKey(credentials, namespace, credentialsName, 'password');
  const secrets = [credentials];
  let ca: string | undefined;
  if (db.caSecretRef) {
    const caSecret = await permittedSecret(reader, namespace, db.caSecretRef.name, name);
    ca = secretKey(caSecret, namespace, db.caSecretRef.name, db.caSecretRef.key);
  }
  const url = new URL('postgres://placeholder');
  url.hostname = host.includes(':') ? `[${host}]` : host;
  url.port = String(db.port);
  url.username = user;
  url.password = password;
  url.pathname = `/${encodeURIComponent(db.name ?? user)}`;
  return {
    connection: {
      ...base,
      url: url.toString(),
      tls: { mode: db.sslMode, ...(ca ? { ca } : {}) },
      refuseInsecureAuth: !insecureAuthAllowed(credentials),
    },
    secrets,
  };
}

/** postgres:// or postgresql://, parseable, with a host: nothing else is tried. */
function isDatabaseUrl(text: string): boolean {
  if (!/^postgres(ql)?:\/\/\S+$/.test(text)) return false;
  try {
    return new URL(text).hostname !== '';
  } catch {
    return false;
  }
}

/**
 * Parsed chains by source (namespace/name) and version (resourceVersion), so a resync
 * does not parse a ConfigMap that has not changed; the least recently used go first.
 */
export class ChainCache {
  readonly #entries: Lru<{ version: string; graph: RevisionGraph }>;

  constructor(capacity: number) {
    this.#entries = new Lru(capacity);
  }

  /** The graph built from exactly this version of the source, if it is still kept. */
  peek(source: string, version: string): RevisionGraph | undefined {
    const cached = this.#entries.get(source);
    return cached?.version === version ? cached.graph : undefined;
  }

  get(source: string, version: string, build: () => RevisionGraph): RevisionGraph {
    const cached = this.#entries.get(source);
    if (cached?.version === version) return cached.graph;
    const graph = build();
    this.#entries.set(source, { version, graph });
    return graph;
  }
}

/**
 * The chain from the spec's ConfigMap (its *.sql keys), or null for the controller's own
 * chain. `watchedVersion` is the ConfigMap's resourceVersion as the controller's watch last
 * saw it: when the cache holds that version, the ConfigMap is not read again (a change
 * reaches the watch, which brings the resource back with the new version).
 */
export async function chainFor(
  spec: Spec,
  namespace: string,
  reader: ObjectReader,
  cache: ChainCache,
  watchedVersion: (namespace: string, name: string) => string | undefined = () => undefined,
): Promise<RevisionGraph | null> {
  const ref = spec.migrations.configMapRef;
  if (!ref) return null;
  const seen = watchedVersion(namespace, ref.name);
  const cached = seen === undefined ? undefined : cache.peek(`${namespace}/${ref.name}`, seen);
  if (cached) return cached;
  const found = await read(`ConfigMap ${namespace}/${ref.name}`, () => reader.configMap(namespace, ref.name));
  if (!found) {
    throw new SourceError(
      Reason.ConfigMapNotFound,
      `ConfigMap ${namespace}/${ref.name} does not exist; create it`,
    );
  }
  const { data } = found;
  return cache.get(`${namespace}/${ref.name}`, found.resourceVersion, () => {
    const files = Object.keys(data)
      .filter((k) => k.endsWith('.sql'))
      .sort();
    return RevisionGraph.build(files.map((f) => parseSqlMigration(data[f]!, `configmap/${ref.name}/${f}`)));
  });
}
