import { createServer, type Server } from 'node:net';
import { onTestFinished } from 'vitest';

/**
 * A listener that plays a PostgreSQL server asking for a cleartext password, as an
 * attacker would to harvest credentials: it records every connection and every byte a
 * client sends after the startup message, so a test can assert that no password left.
 */
export async function passwordHarvester(): Promise<{
  readonly port: number;
  readonly connections: () => number;
  /** The bytes clients sent after their startup message, as text. */
  readonly received: () => string;
}> {
  let connections = 0;
  let received = '';
  const server: Server = createServer((socket) => {
    connections++;
    let startup = true;
    socket.on('data', (chunk: Buffer) => {
      if (startup) {
        startup = false;
        // The startup packet (or an SSLRequest, answered "no TLS" and awaited again).
        if (chunk.length === 8 && chunk.readInt32BE(4) === 80877103) {
          startup = true;
          socket.write('N');
          return;
        }
        // AuthenticationCleartextPassword: 'R', length 8, code 3.
        const ask = Buffer.alloc(9);
        ask.write('R', 0);
        ask.writeInt32BE(8, 1);
        ask.writeInt32BE(3, 5);
        socket.write(ask);
        return;
      }
      received += chunk.toString('latin1');
    });
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  onTestFinished(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('no port');
  return { port: address.port, connections: () => connections, received: () => received };
}
