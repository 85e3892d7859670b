import { createHash } from 'node:crypto';
import type { Statement } from '../ops/statement.js';
import { pgCode, type Queryable, sqlState } from '../pg/db.js';
import {
  recordSchema,
  selectRecordedSchema,
  selectRecordedSchemaId,
  type Tables,
} from '../sql/bookkeeping.js';
import { type Catalog, catalogDifferences, catalogLines } from './catalog.js';
import { catalogStamp, readCatalog } from './read-catalog.js';

/** sha256 of the catalog's lines: equal catalogs, equal fingerprints. */
export function fingerprint(catalog: Catalog): string {
  return createHash('sha256').update(catalogLines(catalog).join('\n')).digest('hex');
}

/**
 * After a run that changed the schema: the catalog, compressed, on the run's last history
 * row. zlib is loaded here, on the way out of a run with work, never on the no-op path.
 * With `reading`, returns the drift reading this makes true (none: the catalog is as
 * recorded), so the next periodic check starts from it instead of a full read; null when
 * not asked or no row took it. `alongside`, a second session (the run's lock session),
 * reads half of the catalog at the same time.
 */
export async function recordCatalog(
  db: Queryable,
  tables: Tables,
  {
    reading,
    schemas,
    alongside,
  }: {
    readonly reading: boolean;
    readonly schemas: readonly string[] | undefined;
    readonly alongside?: Queryable;
  },
): Promise<SchemaDriftReading | null> {
  const { gzipSync } = await import('node:zlib');
  const catalog = await readCatalog(db, { tables, ...(schemas ? { schemas } : {}) }, alongside);
  const print = fingerprint(catalog);
  const statement = recordSchema(tables, print, gzipSync(JSON.stringify(catalog)));
  const { rows } = await db.query<{ id: string; recordedAt: Date; revision: string }>(
    statement.sql,
    statement.params,
  );
  const row = rows[0];
  if (!row || !reading) return null;
  return {
    recorded: { fingerprint: print, recordedAt: row.recordedAt, revision: row.revision },
    differences: [],
    stamp: await readingStamp(db, row.id, schemas),
  };
}

export interface RecordedCatalog {
  readonly catalog: Catalog;
  readonly fingerprint: string;
  readonly recordedAt: Date;
  readonly revision: string;
}

export async function readRecordedCatalog(db: Queryable, tables: Tables): Promise<RecordedCatalog | null> {
  const statement = selectRecordedSchema(tables);
  const row = await firstRecordedRow<{
    fingerprint: string;
    snapshot: Buffer;
    recordedAt: Date;
    revision: string;
  }>(db, statement);
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

/** A SchemaDrift with what it was computed from: the catalog's stamp and the recording read. */
export interface SchemaDriftReading extends SchemaDrift {
  readonly stamp: string;
}

/**
 * The live catalog against the one recorded at the last apply. Given the previous reading,
 * a catalog and a recording that have not changed since (one short query) return it as is:
 * the periodic check costs a full catalog read only after DDL or a new recording.
 */
export async function findSchemaDrift(
  db: Queryable,
  tables: Tables,
  schemas?: readonly string[],
  previous?: SchemaDriftReading,
): Promise<SchemaDriftReading> {
  const recording = await recordedSchemaId(db, tables);
  if (recording === null) return { recorded: null, differences: [], stamp: 'unrecorded' };
  const stamp = await readingStamp(db, recording, schemas);
  if (previous?.stamp === stamp) return previous;
  const recorded = await readRecordedCatalog(db, tables);
  if (!recorded) return { recorded: null, differences: [], stamp: 'unrecorded' };
  const live = await readCatalog(db, { tables, ...(schemas ? { schemas } : {}) });
  const { catalog: _catalog, ...about } = recorded;
  return {
    recorded: about,
    differences: fingerprint(live) === recorded.fingerprint ? [] : catalogDifferences(recorded.catalog, live),
    stamp,
  };
}

async function recordedSchemaId(db: Queryable, tables: Tables): Promise<string | null> {
  return (await firstRecordedRow<{ id: string }>(db, selectRecordedSchemaId(tables)))?.id ?? null;
}

async function firstRecordedRow<Row extends Record<string, unknown>>(
  db: Queryable,
  statement: Statement,
): Promise<Row | null> {
  try {
    return (await db.query<Row>(statement.sql, statement.params)).rows[0] ?? null;
  } catch (err) {
    // No history table yet, or one from before snapshots were recorded: nothing recorded.
    const code = pgCode(err);
    if (code === sqlState.undefinedTable || code === sqlState.undefinedColumn) return null;
    throw err;
  }
}

/** What a drift reading was computed from: the recording's history row and the catalog's stamp. */
async function readingStamp(db: Queryable, recording: string, schemas?: readonly string[]): Promise<string> {
  return `${recording}:${await catalogStamp(db, schemas)}`;
}
