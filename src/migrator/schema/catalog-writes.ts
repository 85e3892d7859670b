import { pgCode, type Queryable, sqlState } from '../pg/db.js';

/**
 * The catalog stamp costs 7-15 ms on a session whose caches are cold (twelve catalogs
 * planned and read), and a controller's periodic drift check usually lands on one. Before
 * it, PostgreSQL's own counters of rows written to those twelve catalogs say whether any
 * DDL happened at all: every new catalog row version (insert, update, multi-insert) and
 * every delete is counted, in committed and aborted transactions alike, so the count moves
 * with anything that would move the stamp (and with what it would not: DDL outside the
 * schemas in scope, a temporary table). One query: about 1.5 ms cold, 0.5 warm.
 *
 * Callers count before they stamp: a write that the stamp missed lands in the counters
 * after the count, so the next check sees them move. A write is counted once its session
 * flushes its statistics: when it goes idle, or within ten seconds after (PostgreSQL 15+;
 * before 15 a collector may drop them under load, so there is no count there). Counting is
 * off with track_counts off, and a superuser's session can turn it off for itself: writes
 * made there are never counted, so callers re-stamp after a bounded number of reuses.
 */

// By OID: the twelve catalogs the stamp reads (pg_namespace, pg_class, pg_type,
// pg_attribute, pg_attrdef, pg_constraint, pg_enum, pg_sequence, pg_description,
// pg_rewrite, pg_depend, pg_extension). Catalog OIDs are fixed in PostgreSQL's headers,
// and a cold session resolves twelve names in about a third of a millisecond.
const stampedCatalogs = "'{2615,1259,1247,1249,2604,2606,3501,2224,2609,2618,2608,3079}'::oid[]";

// Beside the sum, what makes two counts comparable: the database (its OID, and the server's
// start time: OIDs repeat across servers, so two databases migrated alike would otherwise
// count alike) and the statistics' reset time (counters set back to zero and counted up
// again must not match by chance).
/** The count as one SQL expression (text, or null when not counted), for a caller's own query. */
export const catalogWritesSql = `
  CASE WHEN current_setting('server_version_num')::int >= 150000 AND current_setting('track_counts')::bool
    THEN (SELECT concat_ws('@',
                 (SELECT sum(pg_stat_get_tuples_inserted(c) + pg_stat_get_tuples_updated(c) + pg_stat_get_tuples_deleted(c))
                    FROM unnest(${stampedCatalogs}) AS c),
                 d.oid, pg_postmaster_start_time(), pg_stat_get_db_stat_reset_time(d.oid))
            FROM pg_database d WHERE d.datname = current_database())
  END`;

// A DO block, because pg_stat_force_next_flush does not exist before PostgreSQL 15 and a
// plain call would fail to parse there. The flush happens when the statement ends.
const flushOwnWrites = `DO $$ BEGIN
  IF current_setting('server_version_num')::int >= 150000 THEN PERFORM pg_stat_force_next_flush(); END IF;
END $$`;

/**
 * This session's own statistics flushed, so the next count includes its writes: after a
 * run, whose DDL would otherwise move the count at the first periodic check and cost it
 * the stamp it exists to save. A session that is not asked flushes when it goes idle, or
 * up to ten seconds later if it flushed within the last second.
 */
export async function flushOwnCatalogWrites(db: Queryable): Promise<void> {
  try {
    await db.query(flushOwnWrites);
  } catch (err) {
    // PL/pgSQL dropped from this database: the session flushes by itself, and the first
    // check after the run stamps.
    if (pgCode(err) !== sqlState.undefinedObject) throw err;
  }
}

/** Rows written to the stamped catalogs so far, as flushed; null when not counted. */
export async function catalogWrites(db: Queryable): Promise<string | null> {
  const { rows } = await db.query<{ writes: string | null }>(`SELECT ${catalogWritesSql} AS writes`);
  return rows[0]?.writes ?? null;
}
