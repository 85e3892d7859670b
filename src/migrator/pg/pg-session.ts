import pg from 'pg';
import { ConnectionLostError, RevisorError } from '../errors/errors.js';
import type { Session } from '../run/session.js';
import { type ConnectionOptions, clientConfig, describeTarget } from './connection.js';
import { pgCode, sleep, sqlState } from './db.js';

/**
 * Opens pg sessions; a failure names the server and user, never the password. A server
 * out of connection slots (53300: max_connections, a role's limit) is asked again with
 * backoff until the connect timeout: slots free up as other sessions end, and a hundred
 * migrators starting at once must queue for them rather than fail. `waitForSlot: false`
 * for a caller that makes room itself first (the controller's session pool).
 */
export function sessionFactory(
  options: ConnectionOptions,
  { waitForSlot = true }: { readonly waitForSlot?: boolean } = {},
): () => Promise<Session> {
  const open = openSession(options);
  if (!waitForSlot) return open;
  return async () => {
    const deadline = Date.now() + options.connectTimeoutMs;
    for (let delay = 25; ; delay = Math.min(delay * 2, 500)) {
      try {
        return await open();
      } catch (err) {
        const wait = delay * (0.5 + Math.random());
        if (pgCode((err as Error).cause) !== sqlState.tooManyConnections || Date.now() + wait > deadline)
          throw err;
        await sleep(wait);
      }
    }
  };
}

interface Destroyable {
  destroy(): void;
}

function openSession(options: ConnectionOptions): () => Promise<Session> {
  const config = clientConfig(options);
  return async () => {
    const client = new pg.Client(config);
    if (options.refuseInsecureAuth) refuseInsecureAuth(client);
    // The driver reports a dead transport as a plain Error; the session knows it is dead
    // (its 'end' or 'error' came first) and says so with a type, not a message to match.
    let lost = false;
    // A session dropped while idle would otherwise crash the process; the next query reports it.
    client.on('error', () => {
      lost = true;
    });
    client.on('end', () => {
      lost = true;
    });
    const typed = (err: unknown): unknown =>
      pgCode(err) === undefined && lost
        ? new ConnectionLostError(`the connection to ${describeTarget(options)} ended`, err)
        : err;
    const connecting = client.connect();
    if (config.password) loadCryptoOnceSent(client);
    try {
      await connecting;
    } catch (err) {
      await client.end().catch(() => undefined);
      throw new RevisorError(
        'ConnectionFailed',
        `cannot connect to PostgreSQL at ${describeTarget(options)}: ${(err as Error).message}; check the address, ` +
          'the credentials in the Secret or environment, and that the server accepts connections',
        { target: describeTarget(options) },
        err,
      );
    }
    return {
      query: (text, values) =>
        client.query(text, values as unknown[]).catch((err: unknown) => {
          throw typed(err);
        }),
      end: ({ waitForServer = true } = {}) => {
        const ended = client.end();
        if (!waitForServer) {
          const { stream } = (
            client as unknown as { connection: { stream: NodeJS.WritableStream & Destroyable } }
          ).connection;
          // pg ends its side once Terminate is written; closed then, 'end' comes at once.
          stream.once('finish', () => stream.destroy());
        }
        return ended;
      },
      backendKeyPid: () => (client as unknown as { processID: number | null }).processID,
      script: (text, onRow) =>
        new Promise<void>((resolve, reject) => {
          // A Query object rather than client.query(text): its 'row' events also deliver
          // the rows of the statements that completed before an error.
          const query = new pg.Query(text);
          query.on('row', (row: Record<string, unknown>) => onRow(row));
          query.on('error', (err: unknown) => reject(typed(err)));
          query.on('end', () => resolve());
          client.query(query);
        }),
    } satisfies Session;
  };
}

/**
 * Authenticating with a password needs node:crypto, whose first load takes 4-6 ms (every
 * crypto module of Node at once). Loaded when the server's first answer comes, it would
 * hold the handshake up by that much; loaded just after the startup message is written
 * (pg's own listener on the socket's connect, registered first, writes it), it costs the
 * time the server spends forking a backend. The CLI's bundle loads node:crypto on first
 * use (rolldown.config.mjs), so this is where that use comes.
 */
function loadCryptoOnceSent(client: pg.Client): void {
  const { connection } = client as unknown as { connection: NodeJS.EventEmitter };
  connection.once('connect', () => process.getBuiltinModule('node:crypto'));
}

/**
 * Makes the client answer only SCRAM with its password. pg asks the password through a
 * function when it is one, after the server's authentication request has arrived; this
 * session's own listener on that request, registered first, tells the function which
 * method it is for.
 */
function refuseInsecureAuth(client: pg.Client): void {
  const internals = client as unknown as {
    connection: NodeJS.EventEmitter;
    password: string | null | (() => string | null);
  };
  const password = internals.password as string | null;
  let method: 'a cleartext password' | 'an MD5 password hash' | null = null;
  internals.connection.on('authenticationCleartextPassword', () => {
    method = 'a cleartext password';
  });
  internals.connection.on('authenticationMD5Password', () => {
    method = 'an MD5 password hash';
  });
  internals.password = () => {
    if (method) {
      throw new RevisorError(
        'ConnectionFailed',
        `the server asked for ${method}, which revisor refuses to send here: use scram-sha-256 authentication, ` +
          'or allow it on the Secret (revisor.dev/allow-insecure-auth: "true"; outside the operator, drop ' +
          '--refuse-insecure-auth / REVISOR_REFUSE_INSECURE_AUTH)',
      );
    }
    return password;
  };
}
