import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { onTestFinished } from 'vitest';
import { ApiClient } from '../../../src/controller/api/index.js';

/**
 * A stand-in for the API server's framing only (the e2e tier runs the real one): each unit
 * test serves the bytes whose handling it checks. Closed when the test ends.
 */
export async function standInApi(handler: http.RequestListener): Promise<ApiClient> {
  const server = http.createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  onTestFinished(() => {
    server.closeAllConnections();
    server.close();
  });
  const { port } = server.address() as AddressInfo;
  const access = {
    server: `http://127.0.0.1:${port}`,
    credentials: async () => ({ headers: {}, tls: { rejectUnauthorized: true } }),
  };
  return new ApiClient(access, 500);
}
