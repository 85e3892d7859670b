import { readFile } from 'node:fs/promises';
import {
  applySchemaFile,
  type Catalog,
  inline,
  RevisorError,
  schemaTools,
  sessionFactory,
  type Tables,
} from '../migrator/index.js';
import { type Context, resolveConnection, schemasOf, tablesFrom, urlConnection } from './context.js';
import { loadGraph } from './migrator-context.js';
import { scratchMigrator, withScratchDatabase } from './scratch.js';

// The diff engine is loaded with this command, not on every command's way in.
const { changeStatements, diff, readCatalog } = await schemaTools();

/**
 * A catalog from any of the places a schema can be described:
 *   postgres://…      a live or reference database (read only)
 *   database          the configured database (--database-url, …)
 *   file:schema.sql   a declarative schema file, applied to a scratch database
 *   head, base, <rev> the chain at that target, applied to a scratch database
 */
export async function catalogFrom(ctx: Context, spec: string): Promise<Catalog> {
  return canonical(ctx, await describedCatalog(ctx, spec));
}

/**
 * The catalog as PostgreSQL prints it once it has re-read its own definitions: a CHECK
 * written `plan IN ('a', 'b')` prints one way when first parsed and another once that
 * print is parsed again. Re-created on a scratch database from nothing, any two catalogs
 * compare in the same (fixed-point) form, so only real differences remain.
 */
export async function canonical(ctx: Context, catalog: Catalog): Promise<Catalog> {
  return withScratchDatabase(ctx, 'canonical', async (_connection, db) => {
    const empty = await readCatalog(db, { tables: tablesFrom(ctx.values) });
    for (const statement of changeStatements(diff(empty, catalog))) await db.query(inline(statement));
    return readCatalog(db, catalogScope(ctx));
  });
}

/** What a snapshot covers: --schemas (every user schema by default), less revisor's own tables. */
export function catalogScope(ctx: Context): { tables: Tables; schemas?: readonly string[] } {
  const schemas = schemasOf(ctx.values);
  return { tables: tablesFrom(ctx.values), ...(schemas ? { schemas } : {}) };
}

async function describedCatalog(ctx: Context, spec: string): Promise<Catalog> {
  const scope = catalogScope(ctx);
  if (/^postgres(ql)?:\/\//.test(spec) || spec === 'database') {
    const connection = spec === 'database' ? await resolveConnection(ctx) : urlConnection(ctx, spec);
    const db = await sessionFactory(connection)();
    try {
      return await readCatalog(db, scope);
    } finally {
      await db.end();
    }
  }
  if (spec.startsWith('file:')) {
    const path = spec.slice('file:'.length);
    const text = await readFile(path, 'utf8').catch((err: NodeJS.ErrnoException) => {
      throw new RevisorError('Usage', `cannot read schema file ${path}: ${err.code ?? err.message}`);
    });
    return withScratchDatabase(ctx, 'schema', async (_connection, db) => {
      await applySchemaFile(db, text, path);
      return readCatalog(db, scope);
    });
  }
  const graph = await loadGraph(ctx.values);
  return withScratchDatabase(ctx, 'chain', async (connection, db) => {
    const migrator = scratchMigrator(ctx, graph, connection);
    try {
      const result = await migrator.upgrade(spec);
      if (result.error) throw result.error;
    } finally {
      await migrator.close();
    }
    return readCatalog(db, scope);
  });
}
