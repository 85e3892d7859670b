import { type ConnectionOptions, parseSqlMigration, RevisionGraph } from '../migrator/index.js';
import { Reason, type ReasonName } from './reasons.js';
import type { Spec } from './resource.js';

/** What the reconciler reads from the cluster besides the resource itself. */
export interface ObjectReader {
  /** A Secret's data, decoded; null when it does not exist. */
  secret(namespace: string, name: string): Promise<Record<string, string> | null>;
  configMap(namespace: string, name: string): Promise<Record<string, string> | null>;
}

export class SourceError extends Error {
  constructor(
    readonly reason: ReasonName,
    message: string,
  ) {
    super(message);
  }
}

async function secretKey(
  reader: ObjectReader,
  namespace: string,
  name: string,
  key: string,
): Promise<string> {
  const data = await reader.secret(namespace, name);
  if (!data) {
    throw new SourceError(
      Reason.SecretNotFound,
      `Secret ${namespace}/${name} does not exist; create it (it is retried when it appears)`,
    );
  }
  const value = data[key];
  if (value === undefined || value === '') {
    throw new SourceError(Reason.SecretNotFound, `Secret ${namespace}/${name} has no key "${key}"`);
  }
  return value;
}

/** The connection the spec describes, credentials read from its Secrets (never copied anywhere else). */
export async function connectionFor(
  spec: Spec,
  namespace: string,
  reader: ObjectReader,
  base: { applicationName: string; connectTimeoutMs: number },
): Promise<ConnectionOptions> {
  const db = spec.database;
  if (db.urlSecretRef) {
    return { ...base, url: await secretKey(reader, namespace, db.urlSecretRef.name, db.urlSecretRef.key) };
  }
  const credentials = db.credentialsSecretRef!.name;
  const user = await secretKey(reader, namespace, credentials, 'username');
  const password = await secretKey(reader, namespace, credentials, 'password');
  const ca = db.caSecretRef
    ? await secretKey(reader, namespace, db.caSecretRef.name, db.caSecretRef.key)
    : undefined;
  const url = new URL('postgres://placeholder');
  url.hostname = db.host!;
  url.port = String(db.port);
  url.username = user;
  url.password = password;
  url.pathname = `/${encodeURIComponent(db.name ?? user)}`;
  return { ...base, url: url.toString(), tls: { mode: db.sslMode, ...(ca ? { ca } : {}) } };
}

/** The chain from the spec's ConfigMap (its *.sql keys), or null for the controller's own chain. */
export async function chainFor(
  spec: Spec,
  namespace: string,
  reader: ObjectReader,
): Promise<RevisionGraph | null> {
  const ref = spec.migrations.configMapRef;
  if (!ref) return null;
  const data = await reader.configMap(namespace, ref.name);
  if (!data) {
    throw new SourceError(
      Reason.ConfigMapNotFound,
      `ConfigMap ${namespace}/${ref.name} does not exist; create it`,
    );
  }
  const files = Object.keys(data)
    .filter((k) => k.endsWith('.sql'))
    .sort();
  return RevisionGraph.build(files.map((f) => parseSqlMigration(data[f]!, `configmap/${ref.name}/${f}`)));
}
