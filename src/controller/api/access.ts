import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, dirname, isAbsolute, join } from 'node:path';

/**
 * How to reach and authenticate to the API server, read from a kubeconfig or the pod's
 * ServiceAccount. @kubernetes/client-node's KubeConfig does this too, but importing it
 * loads the whole library, every generated API model with it: the controller's bundle took
 * 21 MiB more RSS with it than without (measured), for a dozen kinds of plain JSON request.
 * Its loader is used only for what this one does not do (exec plugins, auth providers).
 */
export interface ApiServerAccess {
  /** The server's URL, without a trailing slash. */
  readonly server: string;
  /** What the next request presents: read again each time, as a projected token rotates. */
  credentials(): Promise<Credentials>;
}

export interface TlsMaterial {
  readonly ca?: Buffer | undefined;
  readonly cert?: Buffer | undefined;
  readonly key?: Buffer | undefined;
  readonly servername?: string | undefined;
  readonly rejectUnauthorized: boolean;
}

export interface Credentials {
  readonly headers: Readonly<Record<string, string>>;
  readonly tls: TlsMaterial;
}

export const serviceAccountDir = '/var/run/secrets/kubernetes.io/serviceaccount';

/** What a kubeconfig (or a merge of several) says, as the YAML names it. */
interface KubeconfigDocument {
  clusters?: { name: string; cluster: Record<string, unknown> }[];
  users?: { name: string; user: Record<string, unknown> }[];
  contexts?: { name: string; context: { cluster?: string; user?: string } }[];
  'current-context'?: string;
}

// A bound ServiceAccount token is refreshed by the kubelet well before it expires; client-go
// and client-node read the file again after a minute, and so does this.
const tokenFileMaxAgeMs = 60_000;

function tokenFromFile(file: string): () => string {
  let cached: { token: string; readAt: number } | null = null;
  return () => {
    const now = Date.now();
    if (!cached || now - cached.readAt > tokenFileMaxAgeMs)
      cached = { token: readFileSync(file, 'utf8').trim(), readAt: now };
    return cached.token;
  };
}

/** The pod's ServiceAccount, as client-go's rest.InClusterConfig reads it. */
export function inClusterAccess(env: NodeJS.ProcessEnv, dir = serviceAccountDir): ApiServerAccess {
  const host = env['KUBERNETES_SERVICE_HOST'];
  const port = env['KUBERNETES_SERVICE_PORT'];
  if (!host || !port)
    throw new Error('KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not set: not in a pod');
  const token = tokenFromFile(join(dir, 'token'));
  const tls = { ca: readFileSync(join(dir, 'ca.crt')), rejectUnauthorized: true };
  return {
    server: `https://${host.includes(':') ? `[${host}]` : host}:${port}`,
    credentials: async () => ({ headers: { Authorization: `Bearer ${token()}` }, tls }),
  };
}

const str = (record: Record<string, unknown>, key: string): string | undefined =>
  typeof record[key] === 'string' && record[key] !== '' ? (record[key] as string) : undefined;

/** Inline data, or the file it names (made absolute when the kubeconfig was read). */
function material(record: Record<string, unknown>, fileKey: string, dataKey: string): Buffer | undefined {
  const data = str(record, dataKey);
  if (data) return Buffer.from(data, 'base64');
  const file = str(record, fileKey);
  return file ? readFileSync(file) : undefined;
}

// The fields that name files: kubectl reads them relative to the kubeconfig that holds them.
const fileFields = ['certificate-authority', 'client-certificate', 'client-key', 'tokenFile'];

// js-yaml is loaded only where a kubeconfig is read: in a pod the ServiceAccount needs none.
async function readDocument(file: string): Promise<KubeconfigDocument> {
  const { load: parseYaml } = await import('js-yaml');
  let parsed: unknown;
  try {
    parsed = parseYaml(readFileSync(file, 'utf8'));
  } catch (err) {
    // js-yaml quotes the text around the fault, which in a kubeconfig may be a credential.
    const line = (err as { mark?: { line?: number } }).mark?.line;
    throw new Error(`${file} is not valid YAML${line === undefined ? '' : ` (line ${line + 1})`}`);
  }
  if (!parsed || typeof parsed !== 'object') throw new Error(`${file} is not a kubeconfig`);
  const doc = parsed as KubeconfigDocument;
  // Made absolute here, before the merge mixes entries of several files.
  for (const entry of [...(doc.clusters ?? []), ...(doc.users ?? [])]) {
    const body: Record<string, unknown> | undefined = 'cluster' in entry ? entry.cluster : entry.user;
    for (const field of fileFields) {
      const named = body && str(body, field);
      if (named && !isAbsolute(named)) body[field] = join(dirname(file), named);
    }
  }
  return doc;
}

/** kubectl's merge of KUBECONFIG's files: the first file to name an entry wins. */
async function merged(files: readonly string[]): Promise<KubeconfigDocument> {
  const docs = await Promise.all(files.filter((f) => existsSync(f)).map(readDocument));
  if (docs.length === 0) throw new Error(`none of the files in KUBECONFIG exists: ${files.join(', ')}`);
  const firstByName = <T extends { name: string }>(lists: (T[] | undefined)[]) => {
    const seen = new Map<string, T>();
    for (const item of lists.flatMap((l) => l ?? [])) if (!seen.has(item.name)) seen.set(item.name, item);
    return [...seen.values()];
  };
  const current = docs.map((d) => d['current-context']).find(Boolean);
  return {
    clusters: firstByName(docs.map((d) => d.clusters)),
    users: firstByName(docs.map((d) => d.users)),
    contexts: firstByName(docs.map((d) => d.contexts)),
    ...(current ? { 'current-context': current } : {}),
  };
}

/** The access a kubeconfig's current context describes. */
export async function kubeconfigAccess(files: readonly string[]): Promise<ApiServerAccess> {
  const doc = await merged(files);
  const contextName = doc['current-context'];
  const context = doc.contexts?.find((c) => c.name === contextName)?.context;
  if (!context)
    throw new Error(`the kubeconfig has no current context${contextName ? ` "${contextName}"` : ''}`);
  const cluster = doc.clusters?.find((c) => c.name === context.cluster)?.cluster;
  if (!cluster || !str(cluster, 'server'))
    throw new Error(`the kubeconfig's context "${contextName}" names no cluster with a server`);
  const user = doc.users?.find((u) => u.name === context.user)?.user ?? {};
  if (cluster['proxy-url'])
    throw new Error(
      `the kubeconfig's cluster "${context.cluster}" is reached through proxy-url, which the controller does not support`,
    );
  if (user['exec'] || user['auth-provider']) return delegated(files);
  const tls: TlsMaterial = {
    ca: material(cluster, 'certificate-authority', 'certificate-authority-data'),
    cert: material(user, 'client-certificate', 'client-certificate-data'),
    key: material(user, 'client-key', 'client-key-data'),
    servername: str(cluster, 'tls-server-name'),
    rejectUnauthorized: cluster['insecure-skip-tls-verify'] !== true,
  };
  const tokenFile = str(user, 'tokenFile');
  const token = str(user, 'token');
  const fromFile = tokenFile ? tokenFromFile(tokenFile) : null;
  const username = str(user, 'username');
  const basic =
    username !== undefined
      ? `Basic ${Buffer.from(`${username}:${str(user, 'password') ?? ''}`).toString('base64')}`
      : null;
  return {
    server: str(cluster, 'server')!.replace(/\/+$/, ''),
    credentials: async () => {
      const bearer = token ?? fromFile?.();
      const authorization = bearer ? `Bearer ${bearer}` : basic;
      const headers: Record<string, string> = authorization ? { Authorization: authorization } : {};
      return { headers, tls };
    },
  };
}

/**
 * A kubeconfig whose user runs an exec plugin or an auth provider: client-node's loader
 * runs those, so it is loaded for them alone.
 */
async function delegated(listed: readonly string[]): Promise<ApiServerAccess> {
  const files = listed.filter((f) => existsSync(f));
  const k8s = await import('@kubernetes/client-node');
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(files[0]!);
  for (const file of files.slice(1)) {
    const next = new k8s.KubeConfig();
    next.loadFromFile(file);
    kc.mergeConfig(next);
  }
  const server = kc.getCurrentCluster()?.server.replace(/\/+$/, '') ?? '';
  return {
    server,
    credentials: async () => {
      const options: import('node:https').RequestOptions = { headers: {} };
      await kc.applyToHTTPSOptions(options);
      const asBuffer = (v: unknown) => (v === undefined ? undefined : Buffer.from(v as string | Buffer));
      return {
        headers: Object.fromEntries(Object.entries(options.headers ?? {}).map(([k, v]) => [k, String(v)])),
        tls: {
          ca: asBuffer(options.ca),
          cert: asBuffer(options.cert),
          key: asBuffer(options.key),
          servername: options.servername,
          rejectUnauthorized: options.rejectUnauthorized !== false,
        },
      };
    },
  };
}

/**
 * kubectl's order: KUBECONFIG (its files merged), then ~/.kube/config, then the pod's
 * ServiceAccount.
 */
export async function defaultAccess(env: NodeJS.ProcessEnv): Promise<ApiServerAccess> {
  const listed = (env['KUBECONFIG'] ?? '').split(delimiter).filter(Boolean);
  if (listed.length > 0) return kubeconfigAccess(listed);
  const home = env['HOME'] ?? homedir();
  const own = join(home, '.kube', 'config');
  if (home && existsSync(own)) return kubeconfigAccess([own]);
  if (existsSync(join(serviceAccountDir, 'token'))) return inClusterAccess(env);
  throw new Error(`no KUBECONFIG, no ${own} and no ServiceAccount token at ${serviceAccountDir}`);
}
