import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import type { ClientConfig } from 'pg';
import { RevisorError } from '../errors/errors.js';

export interface ConnectionOptions {
  /** postgres://… ; otherwise libpq's PG* variables apply. */
  readonly url?: string;
  /** A CA bundle to verify the server against (sslmode verify-full). */
  readonly sslCaFile?: string;
  readonly applicationName: string;
  readonly connectTimeoutMs: number;
  /** Another database on the same server (revisor check's scratch database). */
  readonly database?: string;
  /** TLS as libpq's sslmode names it, with the CA's PEM text (the operator's caSecretRef). */
  readonly tls?: { readonly mode: 'disable' | 'require' | 'verify-ca' | 'verify-full'; readonly ca?: string };
  /**
   * Refuse cleartext and MD5 password authentication: a server (or anything listening
   * where the server should be) that asks for them gets no password and no hash.
   */
  readonly refuseInsecureAuth?: boolean;
}

/** A URL with its password replaced, for logs and messages. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    for (const key of ['password', 'sslpassword'])
      if (parsed.searchParams.has(key)) parsed.searchParams.set(key, '***');
    return parsed.toString();
  } catch {
    return '<unparseable database URL>';
  }
}

/** Whether a URL carries a password (user:password@ or ?password=), parseable or not. */
export function hasPassword(url: string): boolean {
  try {
    const parsed = new URL(url);
    return parsed.password !== '' || parsed.searchParams.has('password');
  } catch {
    return /:[^@/]*@|[?&]password=/.test(url);
  }
}

/** Where the connection goes, without credentials: for messages. */
export function describeTarget(options: ConnectionOptions, env: NodeJS.ProcessEnv = process.env): string {
  if (options.url) {
    try {
      const u = new URL(options.url);
      return `${u.hostname || 'localhost'}:${u.port || 5432}${u.pathname}${u.username ? ` as ${decodeURIComponent(u.username)}` : ''}`;
    } catch {
      return '<unparseable database URL>';
    }
  }
  return `${env['PGHOST'] ?? 'localhost'}:${env['PGPORT'] ?? 5432}/${env['PGDATABASE'] ?? env['PGUSER'] ?? ''}`;
}

export function clientConfig(options: ConnectionOptions, env: NodeJS.ProcessEnv = process.env): ClientConfig {
  const config: ClientConfig = {
    application_name: env['PGAPPNAME'] ?? options.applicationName,
    connectionTimeoutMillis: options.connectTimeoutMs,
  };
  if (options.url) {
    if (!/^postgres(ql)?:\/\//.test(options.url)) {
      throw new RevisorError(
        'Usage',
        `the database URL must start with postgres:// or postgresql://, got ${redactUrl(options.url)}`,
      );
    }
    if (options.database) {
      const url = new URL(options.url);
      url.pathname = `/${encodeURIComponent(options.database)}`;
      config.connectionString = url.toString();
    } else {
      config.connectionString = options.url;
    }
  } else if (options.database) {
    config.database = options.database;
  }
  if (options.tls) {
    const { mode, ca } = options.tls;
    if (mode === 'disable') config.ssl = false;
    else if (mode === 'require') config.ssl = { rejectUnauthorized: false };
    // verify-ca checks the chain but not the host name, as libpq does.
    else
      config.ssl = {
        ...(ca ? { ca } : {}),
        rejectUnauthorized: true,
        ...(mode === 'verify-ca' ? { checkServerIdentity: () => undefined } : {}),
      };
    return config;
  }
  const caFile = options.sslCaFile ?? env['PGSSLROOTCERT'];
  if (caFile) {
    let ca: string;
    try {
      ca = readFileSync(caFile, 'utf8');
    } catch (err) {
      throw new RevisorError('Usage', `cannot read the CA file ${caFile}: ${(err as Error).message}`);
    }
    config.ssl = { ca, rejectUnauthorized: true };
  }
  return config;
}

/** Who ran a step, for the history table: the pod's name in Kubernetes, else the host. */
export function executedBy(env: NodeJS.ProcessEnv = process.env): string {
  return env['REVISOR_EXECUTED_BY'] ?? env['POD_NAME'] ?? hostname();
}

/** Whether anything names a database: otherwise the CLI starts its embedded PostgreSQL. */
export function hasConnectionConfig(
  options: { url?: string },
  env: NodeJS.ProcessEnv = process.env,
): boolean {
  return Boolean(options.url || env['PGHOST'] || env['PGDATABASE']);
}
