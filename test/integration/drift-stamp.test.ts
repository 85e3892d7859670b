import { describe, expect, it } from 'vitest';
import { findSchemaDrift, type SchemaDriftReading } from '../../src/migrator/schema/record.js';
import { defaultTables } from '../../src/migrator/sql/bookkeeping.js';
import { runCli, sqlMigration, writeChain } from '../support/cli.js';
import { connect, createTestDatabase } from '../support/db.js';

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

describe('schema drift readings reuse the previous one while the catalog stamp is unchanged', () => {
  it('returns the previous reading after no DDL, VACUUM or ANALYZE, and reads again after each kind of DDL', async () => {
    const url = await createTestDatabase();
    const dir = await writeChain({ '1.sql': sqlMigration('stamp001', null, schema, 'SELECT 1;') });
    const env = { DATABASE_URL: url, REVISOR_MIGRATIONS: dir };
    const up = await runCli(['upgrade', 'head'], env);
    expect(up.code, up.stderr).toBe(0);
    const db = await connect(url);
    try {
      const first = await findSchemaDrift(db, defaultTables);
      expect(first.recorded?.revision).toBe('stamp001');
      expect(first.differences).toEqual([]);
      await db.query('INSERT INTO person (id) VALUES (1)');
      await db.query('VACUUM ANALYZE person');
      expect(await findSchemaDrift(db, defaultTables, undefined, first)).toBe(first);

      let previous: SchemaDriftReading = first;
      for (const [what, ddl] of changes) {
        await db.query(ddl);
        const next = await findSchemaDrift(db, defaultTables, undefined, previous);
        expect(next, what).not.toBe(previous);
        expect(next.stamp, what).not.toBe(previous.stamp);
        expect(next.differences, what).not.toEqual(previous.differences);
        previous = next;
      }
      // Handed a reading that does not match (another database's, a stale one), it reads afresh.
      const fresh = await findSchemaDrift(db, defaultTables, undefined, { ...first, stamp: 'other' });
      expect(fresh.differences).toEqual(previous.differences);
    } finally {
      await db.end();
    }
  });
});
