import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import type { ClientConfig } from 'pg';
import { parse as parseConnectionString } from 'pg-connection-string';
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

type TlsMode = 'disable' | 'require' | 'verify-ca' | 'verify-full';

/**
 * libpq's sslmode words, meaning what libpq means: require encrypts without verifying,
 * verify-ca checks the chain, verify-full the chain and the host name. The driver's own
 * URL parsing would read require as verify-full, so revisor reads sslmode itself.
 * prefer and allow would need a plain-text fallback the driver cannot make.
 */
const libpqModes: Readonly<Record<string, TlsMode>> = {
  disable: 'disable',
  require: 'require',
  'no-verify': 'require',
  'verify-ca': 'verify-ca',
  'verify-full': 'verify-full',
};

function tlsMode(text: string): TlsMode {
  const mode = libpqModes[text];
  if (!mode) {
    throw new RevisorError(
      'Usage',
      `sslmode "${text}" is not supported: use disable, require (encrypted, not verified), verify-ca or verify-full`,
    );
  }
  return mode;
}

function sslConfig(mode: TlsMode, ca: string | undefined): ClientConfig['ssl'] {
  if (mode === 'disable') return false;
  if (mode === 'require') return { rejectUnauthorized: false };
  return {
    ...(ca ? { ca } : {}),
    rejectUnauthorized: true,
    // verify-ca checks the chain but not the host name, as libpq does.
    ...(mode === 'verify-ca' ? { checkServerIdentity: () => undefined } : {}),
  };
}

function readCa(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new RevisorError(
      'Usage',
      `cannot read the CA file ${file}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`,
    );
  }
}

export function clientConfig(options: ConnectionOptions, env: NodeJS.ProcessEnv = process.env): ClientConfig {
  const config: ClientConfig = {
    application_name: env['PGAPPNAME'] ?? options.applicationName,
    connectionTimeoutMillis: options.connectTimeoutMs,
  };
  let caFile = options.sslCaFile ?? env['PGSSLROOTCERT'];
  let modeText = env['PGSSLMODE'] ?? null;
  // Client certificate options of the URL (sslcert, sslkey), read by the driver's parser.
  let urlSsl: ClientConfig['ssl'];
  if (options.url) {
    let url: URL;
    try {
      if (!/^postgres(ql)?:\/\//.test(options.url)) throw new Error('scheme');
      url = new URL(options.url);
    } catch {
      // Its text is not shown: whatever it is, it may hold a credential.
      throw new RevisorError(
        'Usage',
        'the database URL is not a postgres:// or postgresql:// URL (its text is not shown); check the variable or Secret it comes from',
      );
    }
    if (options.database) url.pathname = `/${encodeURIComponent(options.database)}`;
    modeText = url.searchParams.get('sslmode') ?? modeText;
    caFile = url.searchParams.get('sslrootcert') ?? caFile;
    url.searchParams.delete('sslmode');
    url.searchParams.delete('sslrootcert');
    // The driver's own parsing of a connectionString decodes the database name with
    // decodeURI, which leaves %3B, %2F, %3F, %23 … encoded: a database named "a;b" would be
    // asked for as "a%3Bb". So the URL is parsed here, by the same parser, and the name is
    // decoded whole.
    const { ssl, ...fields } = parseConnectionString(url.toString());
    Object.assign(config, fields, { database: decodeURIComponent(url.pathname.slice(1)) || undefined });
    if (typeof ssl === 'object' || typeof ssl === 'boolean') urlSsl = ssl as ClientConfig['ssl'];
  } else if (options.database) {
    config.database = options.database;
  }
  if (options.tls) {
    config.ssl = sslConfig(options.tls.mode, options.tls.ca);
  } else if (modeText !== null) {
    const mode = tlsMode(modeText);
    config.ssl = sslConfig(mode, mode.startsWith('verify') && caFile ? readCa(caFile) : undefined);
  } else if (caFile) {
    // A CA without a mode: verify the server fully, as the option's name promises.
    config.ssl = sslConfig('verify-full', readCa(caFile));
  }
  if (urlSsl !== undefined) {
    config.ssl =
      typeof config.ssl === 'object' && typeof urlSsl === 'object' ? { ...config.ssl, ...urlSsl } : urlSsl;
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

/**
 * libpq's environment for a connection, for client programs revisor runs (pg_dump): the
 * password travels in PGPASSWORD, never on a command line another user can read. Without a
 * URL, the PG* variables already in the environment apply as they are.
 */
export function libpqEnv(options: ConnectionOptions): Record<string, string> {
  const env: Record<string, string> = { PGAPPNAME: options.applicationName };
  if (options.sslCaFile) env['PGSSLROOTCERT'] = options.sslCaFile;
  if (options.url) {
    const url = new URL(options.url);
    if (url.hostname) env['PGHOST'] = decodeURIComponent(url.hostname.replace(/^\[|\]$/g, ''));
    if (url.port) env['PGPORT'] = url.port;
    if (url.username) env['PGUSER'] = decodeURIComponent(url.username);
    if (url.password) env['PGPASSWORD'] = decodeURIComponent(url.password);
    const database = decodeURIComponent(url.pathname.replace(/^\//, ''));
    if (database) env['PGDATABASE'] = database;
    const query: Record<string, string> = {
      sslmode: 'PGSSLMODE',
      sslrootcert: 'PGSSLROOTCERT',
      host: 'PGHOST',
      port: 'PGPORT',
    };
    for (const [key, variable] of Object.entries(query)) {
      const value = url.searchParams.get(key);
      if (value) env[variable] = value;
    }
  }
  if (options.database) env['PGDATABASE'] = options.database;
  return env;
}
