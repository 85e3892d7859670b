import { literal, qualified, type Statement } from '../ops/statement.js';

/**
 * The stash: what an upgrade step destroys (a dropped table, a dropped column, the values
 * a type change may narrow) kept in schema revisor_stash, in the same transaction as the
 * step, so that a downgrade re-creating the object can put the data back. A registry row
 * per stashed object names its table (s<id>: revision ids and table names together could
 * pass PostgreSQL's 63-character limit). PL/pgSQL, because what to copy and how to join it
 * back depends on the table's primary key, known only to the database at run time.
 */
export const stashSchema = 'revisor_stash';

/** A statement that stashes or restores: the executor installs the functions before running one. */
export interface StashStatement extends Statement {
  readonly stash: true;
  /** For a stash (not a restore): the table whose data the step destroys (backups dump it). */
  readonly destroys?: { readonly schema: string | null; readonly table: string };
}

export const isStashStatement = (s: Statement): s is StashStatement => 'stash' in s;

const call = (
  fn: string,
  args: readonly (string | boolean | null)[],
  destroys?: StashStatement['destroys'],
): StashStatement => ({
  sql: `SELECT ${stashSchema}.${fn}(${args.map(literal).join(', ')})`,
  stash: true,
  ...(destroys ? { destroys } : {}),
});

export const stashTable = (schema: string | undefined, table: string, revision: string, cascade: boolean) =>
  call('stash_table', [schema ?? null, table, revision, cascade], { schema: schema ?? null, table });
export const restoreTable = (schema: string | undefined, table: string, revision: string) =>
  call('restore_table', [schema ?? null, table, revision]);
/** `keep`: copy the values (a type change), rather than take them (a dropped column). */
export const stashColumn = (
  schema: string | undefined,
  table: string,
  column: string,
  revision: string,
  keep: boolean,
) => call('stash_column', [schema ?? null, table, column, revision, keep], { schema: schema ?? null, table });
export const restoreColumn = (schema: string | undefined, table: string, column: string, revision: string) =>
  call('restore_column', [schema ?? null, table, column, revision]);

/** Entries older than the retention go, with their tables (at the start of a run). */
export const expireStash = (retentionMs: number): Statement => ({
  sql: `SELECT ${stashSchema}.expire(make_interval(secs => ${Math.max(0, Math.trunc(retentionMs / 1000))}))`,
});

export const stashExists: Statement = {
  sql: `SELECT to_regclass('${stashSchema}.entries') IS NOT NULL AS exists`,
};

export const listStash: Statement = {
  sql: `SELECT e.revision, e.kind, e.table_schema AS schema, e.table_name AS "table", e.column_name AS "column",
       e.created_at AS "createdAt", pg_total_relation_size(format('%I.%I', '${stashSchema}', e.stash_table)::regclass)::float8 AS bytes
  FROM ${stashSchema}.entries e ORDER BY e.id`,
};

export const dropStash = (revision: string): Statement => ({
  sql: `SELECT ${stashSchema}.drop_revision($1) AS dropped`,
  params: [revision],
});

const s = qualified('entries', stashSchema);

/** Idempotent: CREATE … IF NOT EXISTS and CREATE OR REPLACE, safe to run before any run that stashes. */
export const installStash = `
CREATE SCHEMA IF NOT EXISTS ${stashSchema};
CREATE TABLE IF NOT EXISTS ${s} (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  revision text NOT NULL,
  kind text NOT NULL CHECK (kind IN ('table', 'column')),
  table_schema text NOT NULL,
  table_name text NOT NULL,
  column_name text,
  key_columns text[],
  stash_table text,
  foreign_keys jsonb NOT NULL DEFAULT '[]',
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE OR REPLACE FUNCTION ${stashSchema}.target(p_schema text, p_table text) RETURNS regclass
LANGUAGE sql STABLE AS $f$
  SELECT CASE WHEN p_schema IS NULL THEN to_regclass(quote_ident(p_table))
              ELSE to_regclass(format('%I.%I', p_schema, p_table)) END
$f$;

CREATE OR REPLACE FUNCTION ${stashSchema}.stash_table(p_schema text, p_table text, p_revision text, p_cascade boolean)
RETURNS void LANGUAGE plpgsql AS $f$
DECLARE
  rel regclass := ${stashSchema}.target(p_schema, p_table);
  v_schema text;
  v_id bigint;
  v_name text;
  fks jsonb;
  dependents text;
  obj record;
  n int := 0;
BEGIN
  IF rel IS NULL THEN RETURN; END IF; -- DROP TABLE IF EXISTS of a table that is not there
  SELECT nspname INTO v_schema FROM pg_class c JOIN pg_namespace ns ON ns.oid = c.relnamespace WHERE c.oid = rel;
  SELECT jsonb_agg(jsonb_build_object('table', conrelid::regclass::text, 'name', conname, 'definition', pg_get_constraintdef(oid))),
         string_agg(format('constraint %s on %s', conname, conrelid::regclass), ', ')
    INTO fks, dependents
    FROM pg_constraint WHERE confrelid = rel AND contype = 'f' AND conrelid <> rel;
  IF dependents IS NOT NULL AND NOT p_cascade THEN
    RAISE EXCEPTION 'cannot drop table % because other objects depend on it', rel
      USING ERRCODE = '2BP01', DETAIL = dependents, HINT = 'Use DROP ... CASCADE to drop the dependent objects too.';
  END IF;
  FOR obj IN SELECT DISTINCT r.ev_class::regclass AS view FROM pg_depend d JOIN pg_rewrite r ON r.oid = d.objid
              WHERE d.refobjid = rel AND r.ev_class <> rel LOOP
    IF NOT p_cascade THEN
      RAISE EXCEPTION 'cannot drop table % because view % depends on it', rel, obj.view
        USING ERRCODE = '2BP01', HINT = 'Use DROP ... CASCADE to drop the dependent objects too.';
    END IF;
    EXECUTE format('DROP VIEW IF EXISTS %s CASCADE', obj.view);
  END LOOP;
  FOR obj IN SELECT conrelid::regclass AS tbl, conname FROM pg_constraint WHERE confrelid = rel AND contype = 'f' AND conrelid <> rel LOOP
    EXECUTE format('ALTER TABLE %s DROP CONSTRAINT %I', obj.tbl, obj.conname);
  END LOOP;
  INSERT INTO ${s} (revision, kind, table_schema, table_name, foreign_keys)
    VALUES (p_revision, 'table', v_schema, p_table, coalesce(fks, '[]')) RETURNING id INTO v_id;
  v_name := 's' || v_id;
  UPDATE ${s} SET stash_table = v_name WHERE id = v_id;
  -- Index and sequence names are unique per schema: they are renamed before the move.
  FOR obj IN SELECT ic.oid::regclass AS idx FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid WHERE i.indrelid = rel LOOP
    n := n + 1;
    EXECUTE format('ALTER INDEX %s RENAME TO %I', obj.idx, v_name || '_i' || n);
  END LOOP;
  -- Sequences the table's columns own (serial, identity) move with it.
  FOR obj IN SELECT DISTINCT d.objid::regclass AS seq FROM pg_depend d JOIN pg_class c ON c.oid = d.objid
              WHERE d.refobjid = rel AND c.relkind = 'S' AND d.deptype IN ('a', 'i') LOOP
    n := n + 1;
    EXECUTE format('ALTER SEQUENCE %s RENAME TO %I', obj.seq, v_name || '_q' || n);
  END LOOP;
  EXECUTE format('ALTER TABLE %s RENAME TO %I', rel, v_name);
  EXECUTE format('ALTER TABLE %I.%I SET SCHEMA ${stashSchema}', v_schema, v_name);
END $f$;

CREATE OR REPLACE FUNCTION ${stashSchema}.restore_table(p_schema text, p_table text, p_revision text)
RETURNS void LANGUAGE plpgsql AS $f$
DECLARE
  rel regclass := ${stashSchema}.target(p_schema, p_table);
  e record;
  cols text;
  fk jsonb;
  seq record;
BEGIN
  IF rel IS NULL THEN RETURN; END IF;
  SELECT * INTO e FROM ${s} WHERE revision = p_revision AND kind = 'table' AND table_name = p_table
    AND table_schema = (SELECT nspname FROM pg_class c JOIN pg_namespace ns ON ns.oid = c.relnamespace WHERE c.oid = rel)
    ORDER BY id DESC LIMIT 1;
  IF NOT FOUND THEN RETURN; END IF;
  SELECT string_agg(quote_ident(a.attname), ', ') INTO cols
    FROM pg_attribute a
   WHERE a.attrelid = rel AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = ''
     AND EXISTS (SELECT 1 FROM pg_attribute b WHERE b.attrelid = format('%I.%I', '${stashSchema}', e.stash_table)::regclass
                   AND b.attname = a.attname AND b.attnum > 0 AND NOT b.attisdropped);
  IF cols IS NOT NULL THEN
    EXECUTE format('INSERT INTO %s (%s) OVERRIDING SYSTEM VALUE SELECT %s FROM %I.%I', rel, cols, cols, '${stashSchema}', e.stash_table);
  END IF;
  FOR seq IN SELECT a.attname, pg_get_serial_sequence(rel::text, a.attname) AS name FROM pg_attribute a
              WHERE a.attrelid = rel AND a.attnum > 0 AND NOT a.attisdropped LOOP
    IF seq.name IS NOT NULL THEN
      EXECUTE format('SELECT setval(%L, coalesce((SELECT max(%I) FROM %s), 1))', seq.name, seq.attname, rel);
    END IF;
  END LOOP;
  FOR fk IN SELECT * FROM jsonb_array_elements(e.foreign_keys) LOOP
    IF to_regclass(fk->>'table') IS NOT NULL THEN
      EXECUTE format('ALTER TABLE %s ADD CONSTRAINT %I %s', fk->>'table', fk->>'name', fk->>'definition');
    END IF;
  END LOOP;
  EXECUTE format('DROP TABLE %I.%I CASCADE', '${stashSchema}', e.stash_table);
  DELETE FROM ${s} WHERE id = e.id;
END $f$;

CREATE OR REPLACE FUNCTION ${stashSchema}.stash_column(p_schema text, p_table text, p_column text, p_revision text, p_keep boolean)
RETURNS void LANGUAGE plpgsql AS $f$
DECLARE
  rel regclass := ${stashSchema}.target(p_schema, p_table);
  keys text[];
  v_schema text;
  v_id bigint;
BEGIN
  IF rel IS NULL THEN RETURN; END IF;
  SELECT array_agg(a.attname::text ORDER BY k.ord) INTO keys
    FROM pg_index i CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord)
    JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
   WHERE i.indrelid = rel AND i.indisprimary;
  IF keys IS NULL THEN
    RAISE WARNING 'revisor: % has no primary key, so the values of % are not stashed: a downgrade cannot restore them', rel, p_column;
    RETURN;
  END IF;
  SELECT nspname INTO v_schema FROM pg_class c JOIN pg_namespace ns ON ns.oid = c.relnamespace WHERE c.oid = rel;
  INSERT INTO ${s} (revision, kind, table_schema, table_name, column_name, key_columns)
    VALUES (p_revision, 'column', v_schema, p_table, p_column, keys) RETURNING id INTO v_id;
  UPDATE ${s} SET stash_table = 's' || v_id WHERE id = v_id;
  EXECUTE format('CREATE TABLE %I.%I AS SELECT %s, %I FROM %s', '${stashSchema}', 's' || v_id,
    (SELECT string_agg(quote_ident(k), ', ') FROM unnest(keys) k), p_column, rel);
END $f$;

CREATE OR REPLACE FUNCTION ${stashSchema}.restore_column(p_schema text, p_table text, p_column text, p_revision text)
RETURNS void LANGUAGE plpgsql AS $f$
DECLARE
  rel regclass := ${stashSchema}.target(p_schema, p_table);
  e record;
BEGIN
  IF rel IS NULL THEN RETURN; END IF;
  SELECT * INTO e FROM ${s} WHERE revision = p_revision AND kind = 'column' AND table_name = p_table AND column_name = p_column
    AND table_schema = (SELECT nspname FROM pg_class c JOIN pg_namespace ns ON ns.oid = c.relnamespace WHERE c.oid = rel)
    ORDER BY id DESC LIMIT 1;
  IF NOT FOUND THEN RETURN; END IF;
  EXECUTE format('UPDATE %s AS t SET %I = s.%I FROM %I.%I AS s WHERE %s', rel, p_column, p_column, '${stashSchema}', e.stash_table,
    (SELECT string_agg(format('t.%I = s.%I', k, k), ' AND ') FROM unnest(e.key_columns) k));
  EXECUTE format('DROP TABLE %I.%I', '${stashSchema}', e.stash_table);
  DELETE FROM ${s} WHERE id = e.id;
END $f$;

CREATE OR REPLACE FUNCTION ${stashSchema}.drop_entries(p_ids bigint[]) RETURNS int LANGUAGE plpgsql AS $f$
DECLARE e record; n int := 0;
BEGIN
  FOR e IN SELECT id, stash_table FROM ${s} WHERE id = ANY (p_ids) LOOP
    IF e.stash_table IS NOT NULL THEN EXECUTE format('DROP TABLE IF EXISTS %I.%I CASCADE', '${stashSchema}', e.stash_table); END IF;
    DELETE FROM ${s} WHERE id = e.id;
    n := n + 1;
  END LOOP;
  RETURN n;
END $f$;

CREATE OR REPLACE FUNCTION ${stashSchema}.expire(p_older_than interval) RETURNS int LANGUAGE sql AS $f$
  SELECT ${stashSchema}.drop_entries(coalesce(array_agg(id), '{}')) FROM ${s} WHERE created_at < now() - p_older_than
$f$;

CREATE OR REPLACE FUNCTION ${stashSchema}.drop_revision(p_revision text) RETURNS int LANGUAGE sql AS $f$
  SELECT ${stashSchema}.drop_entries(coalesce(array_agg(id), '{}')) FROM ${s} WHERE revision = p_revision
$f$;
`;
