import { describe, expect, it, vi } from 'vitest';
import { flushOwnCatalogWrites } from '../../src/migrator/schema/catalog-writes.js';
import {
  findSchemaDrift,
  maxWriteCountReuses,
  type SchemaDriftReading,
} from '../../src/migrator/schema/record.js';
import { defaultTables } from '../../src/migrator/sql/bookkeeping.js';
import { runCli, sqlMigration, writeChain } from '../support/cli.js';
import { connect, createTestDatabase } from '../support/db.js';
import { migratorFor } from '../support/migrator.js';

const schema = `
CREATE TYPE mood AS ENUM ('sad', 'ok');
CREATE SEQUENCE ticket_seq;
CREATE TABLE person (id int PRIMARY KEY, name varchar(20) DEFAULT 'x', feeling mood, ticket int);
CREATE TABLE pet (id int PRIMARY KEY, owner int);
CREATE VIEW named AS SELECT id, feeling FROM person;
COMMENT ON COLUMN person.name IS 'the name';`;

// Each is DDL that writes only one catalog (beside the one it changes, nothing in pg_class).
const changes: [string, string][] = [
  ['a column type (pg_attribute)', 'ALTER TABLE person ALTER COLUMN name TYPE varchar(40)'],
  ['a default (pg_attrdef)', "ALTER TABLE person ALTER COLUMN name SET DEFAULT 'y'"],
  ['a comment (pg_description)', "COMMENT ON COLUMN person.name IS 'a name'"],
  ['an enum label (pg_enum)', "ALTER TYPE mood ADD VALUE 'glad'"],
  ['a sequence increment (pg_sequence)', 'ALTER SEQUENCE ticket_seq INCREMENT BY 5'],
  ['a sequence owner (pg_depend)', 'ALTER SEQUENCE ticket_seq OWNED BY person.ticket'],
  ['a view body (pg_rewrite)', 'CREATE OR REPLACE VIEW named AS SELECT id, feeling FROM person WHERE id > 0'],
  ['a foreign key (pg_constraint)', 'ALTER TABLE pet ADD FOREIGN KEY (owner) REFERENCES person (id)'],
];

/** The chain of one revision that creates the schema above. */
const stampChain = () => writeChain({ '1.sql': sqlMigration('stamp001', null, schema, 'SELECT 1;') });

async function migrated(): Promise<string> {
  const url = await createTestDatabase();
  const dir = await stampChain();
  const up = await runCli(['upgrade', 'head'], { DATABASE_URL: url, REVISOR_MIGRATIONS: dir });
  expect(up.code, up.stderr).toBe(0);
  return url;
}

/** What a drift reading says after COMMENT ON TABLE pet IS 'pets'. */
const commented = ['- table public.pet', '+ table public.pet comment "pets"'];

/** The same reading, its catalog write count reused once more. */
const reusedOnce = (reading: SchemaDriftReading): SchemaDriftReading => ({
  ...reading,
  writes: { counted: reading.writes!.counted, reuses: reading.writes!.reuses + 1 },
});

describe('schema drift readings reuse the previous one while the catalog is unchanged', () => {
  it('returns the previous reading after no DDL, VACUUM or ANALYZE, and reads again after each kind of DDL', async () => {
    const db = await connect(await migrated());
    try {
      const first = await findSchemaDrift(db, defaultTables);
      expect(first.recorded?.revision).toBe('stamp001');
      expect(first.differences).toEqual([]);
      expect(first.writes?.reuses).toBe(0);
      await db.query('INSERT INTO person (id) VALUES (1)');
      await db.query('VACUUM ANALYZE person');
      expect(await findSchemaDrift(db, defaultTables, undefined, first)).toEqual(reusedOnce(first));

      let previous: SchemaDriftReading = first;
      for (const [what, ddl] of changes) {
        await db.query(ddl);
        // What a session does by itself within ten seconds of going idle.
        await flushOwnCatalogWrites(db);
        const next = await findSchemaDrift(db, defaultTables, undefined, previous);
        expect(next, what).not.toBe(previous);
        expect(next.stamp, what).not.toBe(previous.stamp);
        expect(next.differences, what).not.toEqual(previous.differences);
        previous = next;
      }
      // Handed a reading that does not match (another database's, a stale one), it reads afresh.
      const fresh = await findSchemaDrift(db, defaultTables, undefined, {
        ...first,
        stamp: 'other',
        writes: null,
      });
      expect(fresh.differences).toEqual(previous.differences);
    } finally {
      await db.end();
    }
  });

  it("hands over, after a run, a reading whose count already includes the run's own DDL", async () => {
    const url = await createTestDatabase();
    const dir = await stampChain();
    const migrator = await migratorFor(url, dir, { driftReadingAfterRun: true });
    const { schemaDrift: handed } = await migrator.upgrade('head');
    expect(handed?.writes?.reuses).toBe(0);
    const db = await connect(url);
    try {
      expect(await findSchemaDrift(db, defaultTables, undefined, handed)).toEqual(reusedOnce(handed!));
    } finally {
      await db.end();
    }
  });

  it('records after a run in a database without PL/pgSQL (no flush to ask for)', async () => {
    const url = await createTestDatabase();
    const db = await connect(url);
    try {
      await db.query('DROP EXTENSION plpgsql');
      await expect(flushOwnCatalogWrites(db)).resolves.toBeUndefined();
      const dir = await stampChain();
      const migrator = await migratorFor(url, dir, { driftReadingAfterRun: true });
      const { schemaDrift: handed } = await migrator.upgrade('head');
      expect(handed?.recorded?.revision).toBe('stamp001');
      expect(handed?.differences).toEqual([]);
    } finally {
      await db.end();
    }
  });

  it("does not take another database's reading for this one's, however alike the two are", async () => {
    const [urlA, urlB] = await Promise.all([migrated(), migrated()]);
    const [a, b] = [await connect(urlA), await connect(urlB)];
    try {
      const readingA = await findSchemaDrift(a, defaultTables);
      const readingB = await findSchemaDrift(b, defaultTables, undefined, readingA);
      expect(readingB.writes?.reuses).toBe(0);
      expect(readingB.stamp).not.toBe(readingA.stamp);
    } finally {
      await Promise.all([a.end(), b.end()]);
    }
  });

  it("finds DDL another session made once that session's statistics are flushed", async () => {
    const url = await migrated();
    const [db, other] = [await connect(url), await connect(url)];
    try {
      const first = await findSchemaDrift(db, defaultTables);
      await other.query("COMMENT ON TABLE pet IS 'pets'");
      await vi.waitFor(
        async () =>
          expect((await findSchemaDrift(db, defaultTables, undefined, first)).differences).toEqual(commented),
        { timeout: 20_000, interval: 250 },
      );
    } finally {
      await Promise.all([db.end(), other.end()]);
    }
  });

  it('stamps again after a bounded run of reuses, finding DDL that no counter saw', async () => {
    const url = await migrated();
    const [db, uncounted] = [await connect(url), await connect(url)];
    try {
      let reading = await findSchemaDrift(db, defaultTables);
      // A superuser's session may stop counting its own writes.
      await uncounted.query('SET track_counts = off');
      await uncounted.query("COMMENT ON TABLE pet IS 'pets'");
      for (let reuse = 1; reuse <= maxWriteCountReuses; reuse++) {
        const next = await findSchemaDrift(db, defaultTables, undefined, reading);
        expect(next).toEqual(reusedOnce(reading));
        reading = next;
      }
      const stamped = await findSchemaDrift(db, defaultTables, undefined, reading);
      expect(stamped.writes?.reuses).toBe(0);
      expect(stamped.differences).toEqual(commented);
    } finally {
      await Promise.all([db.end(), uncounted.end()]);
    }
  });

  it('stamps every time in a session that does not count catalog writes', async () => {
    const db = await connect(await migrated());
    try {
      await db.query('SET track_counts = off');
      const first = await findSchemaDrift(db, defaultTables);
      expect(first.writes).toBeNull();
      await db.query("COMMENT ON TABLE pet IS 'pets'");
      expect((await findSchemaDrift(db, defaultTables, undefined, first)).differences).toEqual(commented);
    } finally {
      await db.end();
    }
  });
});
