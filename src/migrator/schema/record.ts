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
import { catalogWrites, catalogWritesSql, flushOwnCatalogWrites } from './catalog-writes.js';
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
  // Counted before the stamp: a write between the two moves the count, not the reading.
  await flushOwnCatalogWrites(db);
  const writes = freshWrites(row.id, await catalogWrites(db));
  return {
    recorded: { fingerprint: print, recordedAt: row.recordedAt, revision: row.revision },
    differences: [],
    stamp: await readingStamp(db, row.id, schemas),
    writes,
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
  /** The catalog writes counted when the stamp was taken, and how often they stood in for it since. */
  readonly writes: WriteCount | null;
}

interface WriteCount {
  readonly counted: string;
  readonly reuses: number;
}

/**
 * How many checks in a row the write count may stand in for the stamp: writes made where
 * nothing counts them (a session with track_counts off) are found by the stamp this many
 * checks later at most (an hour, at the operator's default drift interval).
 */
export const maxWriteCountReuses = 11;

const unrecorded: SchemaDriftReading = { recorded: null, differences: [], stamp: 'unrecorded', writes: null };

/**
 * The live catalog against the one recorded at the last apply. Given the previous reading,
 * a catalog and a recording that have not changed since return it: when no catalog row was
 * written since (catalog-writes.ts, counted in the query that reads which recording to
 * compare with), or else when the stamp is unchanged (one longer query). The periodic
 * check costs a full catalog read only after DDL or a new recording.
 */
export async function findSchemaDrift(
  db: Queryable,
  tables: Tables,
  schemas?: readonly string[],
  previous?: SchemaDriftReading,
): Promise<SchemaDriftReading> {
  const found = await recordingAndWrites(db, tables);
  if (found === null) return unrecorded;
  const { recording, writes } = found;
  const last = previous?.writes;
  if (previous && last && writes?.counted === last.counted && last.reuses < maxWriteCountReuses)
    return { ...previous, writes: { counted: last.counted, reuses: last.reuses + 1 } };
  const stamp = await readingStamp(db, recording, schemas);
  if (previous?.stamp === stamp) return { ...previous, writes };
  const recorded = await readRecordedCatalog(db, tables);
  if (!recorded) return unrecorded;
  const live = await readCatalog(db, { tables, ...(schemas ? { schemas } : {}) });
  const { catalog: _catalog, ...about } = recorded;
  return {
    recorded: about,
    differences: fingerprint(live) === recorded.fingerprint ? [] : catalogDifferences(recorded.catalog, live),
    stamp,
    writes,
  };
}

/** The catalog writes counted, tied to the recording they were counted against, not yet reused. */
const freshWrites = (recording: string, writes: string | null): WriteCount | null =>
  writes === null ? null : { counted: `${recording}:${writes}`, reuses: 0 };

/** The recording a reading compares with, and the catalog writes counted so far: one round trip. */
async function recordingAndWrites(
  db: Queryable,
  tables: Tables,
): Promise<{ readonly recording: string; readonly writes: WriteCount | null } | null> {
  const recorded = selectRecordedSchemaId(tables);
  const row = await firstRecordedRow<{ id: string | null; writes: string | null }>(db, {
    sql: `SELECT (${recorded.sql}) AS id, ${catalogWritesSql} AS writes`,
    params: recorded.params,
  });
  if (!row?.id) return null;
  return { recording: row.id, writes: freshWrites(row.id, row.writes) };
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
