import { createHash } from 'node:crypto';
import { pgCode, type Queryable, sqlState } from '../pg/db.js';
import { recordSchema, selectRecordedSchema, type Tables } from '../sql/bookkeeping.js';
import { type Catalog, catalogDifferences, catalogLines } from './catalog.js';
import { readCatalog } from './read-catalog.js';

/** sha256 of the catalog's lines: equal catalogs, equal fingerprints. */
export function fingerprint(catalog: Catalog): string {
  return createHash('sha256').update(catalogLines(catalog).join('\n')).digest('hex');
}

/**
 * After a run that changed the schema: the catalog, compressed, on the run's last history
 * row. zlib is loaded here, on the way out of a run with work, never on the no-op path.
 */
export async function recordCatalog(
  db: Queryable,
  tables: Tables,
  schemas?: readonly string[],
): Promise<string> {
  const { gzipSync } = await import('node:zlib');
  const catalog = await readCatalog(db, { tables, ...(schemas ? { schemas } : {}) });
  const print = fingerprint(catalog);
  const statement = recordSchema(tables, print, gzipSync(JSON.stringify(catalog)));
  await db.query(statement.sql, statement.params);
  return print;
}

export interface RecordedCatalog {
  readonly catalog: Catalog;
  readonly fingerprint: string;
  readonly recordedAt: Date;
  readonly revision: string;
}

export async function readRecordedCatalog(db: Queryable, tables: Tables): Promise<RecordedCatalog | null> {
  const statement = selectRecordedSchema(tables);
  type Row = { fingerprint: string; snapshot: Buffer; recordedAt: Date; revision: string };
  let rows: Row[];
  try {
    ({ rows } = await db.query<Row>(statement.sql, statement.params));
  } catch (err) {
    // No history table yet, or one from before snapshots were recorded: nothing recorded.
    const code = pgCode(err);
    if (code === sqlState.undefinedTable || code === sqlState.undefinedColumn) return null;
    throw err;
  }
  const row = rows[0];
  if (!row) return null;
  const { gunzipSync } = await import('node:zlib');
  return {
    catalog: JSON.parse(gunzipSync(row.snapshot).toString('utf8')) as Catalog,
    fingerprint: row.fingerprint,
    recordedAt: row.recordedAt,
    revision: row.revision,
  };
}

export interface SchemaDrift {
  /** null: nothing recorded yet (no run has changed the schema since recording began). */
  readonly recorded: Omit<RecordedCatalog, 'catalog'> | null;
  /** `- …` recorded but gone, `+ …` present but not recorded. */
  readonly differences: readonly string[];
}

/** The live catalog against the one recorded at the last apply. */
export async function findSchemaDrift(
  db: Queryable,
  tables: Tables,
  schemas?: readonly string[],
): Promise<SchemaDrift> {
  const recorded = await readRecordedCatalog(db, tables);
  if (!recorded) return { recorded: null, differences: [] };
  const live = await readCatalog(db, { tables, ...(schemas ? { schemas } : {}) });
  const { catalog: _catalog, ...about } = recorded;
  return {
    recorded: about,
    differences: fingerprint(live) === recorded.fingerprint ? [] : catalogDifferences(recorded.catalog, live),
  };
}
