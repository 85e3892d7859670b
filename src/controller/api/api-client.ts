import * as http from 'node:http';
import * as https from 'node:https';
import { ApiServerError } from '../http-status.js';
import type { ApiServerAccess, TlsMaterial } from './access.js';

export type Query = Readonly<Record<string, string | number | boolean | undefined>>;

export interface RequestOptions {
  readonly body?: unknown;
  readonly query?: Query;
  /** The representation asked for (Accept); JSON unless given. */
  readonly accept?: string;
}

export interface WatchHandle {
  abort(): void;
}

const queryString = (query: Query | undefined) => {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query ?? {}))
    if (value !== undefined) params.set(key, String(value));
  const text = params.toString();
  return text ? `?${text}` : '';
};

const sameBuffer = (a: Buffer | undefined, b: Buffer | undefined) =>
  a === b || (a !== undefined && b !== undefined && a.equals(b));
const sameTls = (a: TlsMaterial, b: TlsMaterial) =>
  a === b ||
  (sameBuffer(a.ca, b.ca) &&
    sameBuffer(a.cert, b.cert) &&
    sameBuffer(a.key, b.key) &&
    a.servername === b.servername &&
    a.rejectUnauthorized === b.rejectUnauthorized);

/** The API server's answer to a request that failed: ApiServerError reads its status and body. */
const answered = (status: number, body: string) =>
  Object.assign(new Error(http.STATUS_CODES[status] ?? `HTTP ${status}`), {
    code: status,
    statusCode: status,
    body,
  });

/**
 * JSON requests and watches over one keep-alive agent. Every request ends within the
 * timeout: an API server that accepted the connection and never answers would otherwise
 * hold a reconcile (and a worker) forever. Watches are bounded by the informer's watchdog
 * instead. Every failure is an ApiServerError, so the reconciler tells the API server's
 * failures from a database's without knowing the transport.
 */
export class ApiClient {
  readonly #access: ApiServerAccess;
  readonly #timeoutMs: number;
  #tlsAgent: { agent: https.Agent; tls: TlsMaterial } | null = null;
  #plainAgent: http.Agent | null = null;

  constructor(access: ApiServerAccess, timeoutMs: number) {
    this.#access = access;
    this.#timeoutMs = timeoutMs;
  }

  async request<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
    try {
      const { status, text } = await this.#exchange(method, path, options);
      if (status >= 400) throw answered(status, text);
      return (text ? JSON.parse(text) : {}) as T;
    } catch (err) {
      throw new ApiServerError(`${method} ${path}`, err);
    }
  }

  /** Like request, null when the object does not exist. */
  async find<T>(path: string, options: RequestOptions = {}): Promise<T | null> {
    try {
      return await this.request<T>('GET', path, options);
    } catch (err) {
      if ((err as ApiServerError).status === 404) return null;
      throw err;
    }
  }

  /**
   * A watch from `query.resourceVersion`: each event line as it arrives, then `onDone`
   * once, with null when the server ended the watch (its timeoutSeconds) or it was aborted.
   */
  async watch(
    path: string,
    query: Query,
    onEvent: (type: string, object: unknown) => void,
    onDone: (err: unknown) => void,
    accept = 'application/json',
  ): Promise<WatchHandle> {
    const aborted = new AbortController();
    let done = false;
    const finish = (err: unknown) => {
      if (done) return;
      done = true;
      aborted.abort();
      onDone(err);
    };
    const { url, headers, agent, send } = await this.#target(path, { ...query, watch: true }, accept);
    const request = send(url, { method: 'GET', headers, agent, signal: aborted.signal }, (response) => {
      if (response.statusCode !== 200) {
        void readBody(response).then((text) => finish(answered(response.statusCode ?? 0, text)), finish);
        return;
      }
      response.setEncoding('utf8');
      let pending = '';
      response.on('data', (chunk: string) => {
        pending += chunk;
        for (let end = pending.indexOf('\n'); end !== -1 && !done; end = pending.indexOf('\n')) {
          const line = pending.slice(0, end);
          pending = pending.slice(end + 1);
          if (line.trim() === '') continue;
          let event: { type?: unknown; object?: unknown };
          try {
            event = JSON.parse(line) as typeof event;
          } catch (err) {
            finish(err);
            return;
          }
          onEvent(String(event.type), event.object);
        }
      });
      response.on('error', finish);
      response.on('end', () => finish(null));
      response.on('close', () => finish(null));
    });
    // A watch idles for minutes: TCP keep-alive finds a peer that went away without a word.
    request.on('socket', (socket) => socket.setKeepAlive(true, 30_000));
    request.on('error', finish);
    request.end();
    return { abort: () => finish(null) };
  }

  async #target(path: string, query: Query | undefined, accept: string) {
    const { headers, tls } = await this.#access.credentials();
    const url = new URL(`${this.#access.server}${path}${queryString(query)}`);
    const send = url.protocol === 'http:' ? http.request : https.request;
    return { url, headers: { ...headers, Accept: accept }, agent: this.#agentFor(url, tls), send };
  }

  async #exchange(method: string, path: string, options: RequestOptions) {
    const { url, headers, agent, send } = await this.#target(
      path,
      options.query,
      options.accept ?? 'application/json',
    );
    const body = options.body === undefined ? undefined : JSON.stringify(options.body);
    const sent = body === undefined ? headers : { ...headers, 'Content-Type': 'application/json' };
    const deadline = AbortSignal.timeout(this.#timeoutMs);
    // Said as a timeout: the transport reports only that the request was aborted.
    const failed = (err: unknown) =>
      deadline.aborted
        ? Object.assign(new Error(`no answer within ${this.#timeoutMs} ms`), { code: 'TimeoutError' })
        : err;
    return new Promise<{ status: number; text: string }>((resolve, reject) => {
      const request = send(url, { method, headers: sent, agent, signal: deadline }, (response) => {
        readBody(response).then(
          (text) => resolve({ status: response.statusCode ?? 0, text }),
          (err: unknown) => reject(failed(err)),
        );
      });
      request.on('error', (err) => reject(failed(err)));
      request.end(body);
    });
  }

  #agentFor(url: URL, tls: TlsMaterial): http.Agent {
    if (url.protocol === 'http:') {
      this.#plainAgent ??= new http.Agent({ keepAlive: true, maxFreeSockets: 16 });
      return this.#plainAgent;
    }
    if (this.#tlsAgent && sameTls(this.#tlsAgent.tls, tls)) return this.#tlsAgent.agent;
    // New TLS material (a client certificate renewed by an exec plugin): new connections.
    this.#tlsAgent?.agent.destroy();
    this.#tlsAgent = { agent: new https.Agent({ ...tls, keepAlive: true, maxFreeSockets: 16 }), tls };
    return this.#tlsAgent.agent;
  }
}

function readBody(response: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    response.on('data', (chunk: Buffer) => chunks.push(chunk));
    response.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    response.on('error', reject);
    response.on('aborted', () =>
      reject(Object.assign(new Error('the response was cut off'), { code: 'ECONNRESET' })),
    );
  });
}
