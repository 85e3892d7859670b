import { createServer, type Server } from 'node:http';
import type { Registry } from 'prom-client';

export interface Probes {
  /** The process is able to work (its loops are running). */
  healthy(): boolean;
  /** It has synced its caches (or is a standby waiting for the lease). */
  ready(): boolean;
}

/** Parses ":8080", "0.0.0.0:9090", "127.0.0.1:0". */
export function parseAddress(text: string): { host: string; port: number } {
  const match = /^(.*):(\d+)$/.exec(text);
  if (!match) throw new TypeError(`--metrics-addr takes [host]:port, got "${text}"`);
  return { host: match[1] || '0.0.0.0', port: Number(match[2]) };
}

/** /metrics, /healthz and /readyz on one small HTTP server. */
export async function startServer(address: string, registry: Registry, probes: Probes): Promise<Server> {
  const { host, port } = parseAddress(address);
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/metrics') {
      registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
        (err: unknown) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`${String(err)}\n`),
      );
    } else if (path === '/healthz' || path === '/readyz') {
      const ok = path === '/healthz' ? probes.healthy() : probes.ready();
      res.writeHead(ok ? 200 : 503, { 'content-type': 'text/plain' });
      res.end(ok ? 'ok\n' : 'not ready\n');
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return server;
}
