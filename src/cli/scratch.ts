import { randomBytes } from 'node:crypto';
import {
  type ConnectionOptions,
  ident,
  type Migrator,
  type RevisionGraph,
  RevisorError,
  type Session,
  sessionFactory,
} from '../migrator/index.js';
import { str } from './args.js';
import { type Context, migratorSettings, resolveConnection, urlConnection } from './context.js';
import { migratorWith } from './migrator-context.js';

/** A migrator on a scratch database: it records no catalog (the database is thrown away). */
export function scratchMigrator(ctx: Context, graph: RevisionGraph, connection: ConnectionOptions): Migrator {
  return migratorWith(
    ctx,
    { ...migratorSettings(ctx), recordSchema: false },
    graph,
    sessionFactory(connection),
  );
}

/**
 * A database of its own for the length of `work`: created on --dev-url's server (as
 * Atlas's dev database), else beside the configured database, else in the embedded
 * PostgreSQL; dropped afterwards whatever happens.
 */
export async function withScratchDatabase<T>(
  ctx: Context,
  purpose: string,
  work: (connection: ConnectionOptions, db: Session) => Promise<T>,
): Promise<T> {
  const devUrl = str(ctx.values, 'dev-url');
  const server: ConnectionOptions = devUrl ? urlConnection(ctx, devUrl) : await resolveConnection(ctx);
  const admin = await sessionFactory(server)();
  const name = `revisor_${purpose}_${randomBytes(5).toString('hex')}`;
  try {
    await admin.query(`CREATE DATABASE ${ident(name)}`);
  } catch (err) {
    await admin.end();
    throw new RevisorError(
      'ConnectionFailed',
      `cannot create a scratch database: ${(err as Error).message}; the role needs CREATEDB, or give --dev-url a server where it has it`,
    );
  }
  try {
    const connection = { ...server, database: name };
    const db = await sessionFactory(connection)();
    try {
      return await work(connection, db);
    } finally {
      await db.end();
    }
  } finally {
    await admin.query(`DROP DATABASE IF EXISTS ${ident(name)} WITH (FORCE)`).catch(() => undefined);
    await admin.end();
  }
}
