import { ident, qualified, type Statement } from './statement.js';

/**
 * A data migration over a large table, in key-ordered batches of their own transactions
 * (op.backfill). `set` and `where` are SQL written by the author, as in op.update; `where`
 * must leave out the rows already done, which makes the backfill idempotent and lets an
 * interrupted one resume.
 */
export interface BackfillOptions {
  readonly table: string;
  readonly schema?: string;
  /** The assignments: `total = price * quantity`. */
  readonly set: string;
  /** The rows that still need it: `total IS NULL`. */
  readonly where: string;
  /** A unique, ordered column (default id): batches walk it. */
  readonly key?: string;
  readonly batchSize?: number;
  /** A pause between batches, to leave room for the application's writes. */
  readonly pauseMs?: number;
}

export interface Backfill extends Required<Omit<BackfillOptions, 'schema'>> {
  readonly schema: string | null;
}

/** A backfill is a statement the executor runs batch by batch; its sql is the offline equivalent. */
export interface BackfillStatement extends Statement {
  readonly backfill: Backfill;
}

export const isBackfill = (s: Statement): s is BackfillStatement => 'backfill' in s;

export function backfill(options: BackfillOptions): BackfillStatement {
  const spec: Backfill = {
    table: options.table,
    schema: options.schema ?? null,
    set: options.set,
    where: options.where,
    key: options.key ?? 'id',
    batchSize: options.batchSize ?? 1000,
    pauseMs: options.pauseMs ?? 0,
  };
  if (!spec.set.trim()) throw new TypeError('backfill needs set, e.g. "total = price * quantity"');
  if (!spec.where.trim()) {
    throw new TypeError(
      'backfill needs where, the rows still to do (e.g. "total IS NULL"), so it can resume',
    );
  }
  if (!Number.isInteger(spec.batchSize) || spec.batchSize < 1)
    throw new TypeError('backfill batchSize must be a positive integer');
  if (!Number.isInteger(spec.pauseMs) || spec.pauseMs < 0)
    throw new TypeError('backfill pauseMs must be 0 or more');
  return { sql: offlineBackfill(spec), backfill: spec };
}

/**
 * One batch: the next `batchSize` rows after the cursor that still need it, updated; it
 * returns how many and the last key. $1: whether there is a cursor; $2: the cursor (the
 * key as text, which the server reads as the key's type); $3: the batch size. Rows are
 * locked in key order, so batches and the application's writes cannot deadlock on them.
 */
export function backfillBatch(b: Backfill): string {
  const table = qualified(b.table, b.schema);
  const key = ident(b.key);
  return (
    `WITH todo AS (SELECT ${key} FROM ${table} WHERE (${b.where}) AND (NOT $1::boolean OR ${key} > $2) ` +
    `ORDER BY ${key} LIMIT $3 FOR UPDATE), ` +
    `done AS (UPDATE ${table} AS target SET ${b.set} FROM todo WHERE target.${key} = todo.${key} RETURNING target.${key}) ` +
    `SELECT count(*)::int AS rows, max(${key})::text AS last FROM done`
  );
}

/**
 * The same work as one statement, for `revisor sql` and other offline output: a DO block
 * that commits after each batch (PostgreSQL 11+, outside a transaction block).
 */
function offlineBackfill(b: Backfill): string {
  const table = qualified(b.table, b.schema);
  const key = ident(b.key);
  return [
    'DO $revisor_backfill$',
    'DECLARE updated bigint;',
    'BEGIN',
    '  LOOP',
    `    UPDATE ${table} SET ${b.set} WHERE ${key} IN (SELECT ${key} FROM ${table} WHERE (${b.where}) ORDER BY ${key} LIMIT ${b.batchSize});`,
    '    GET DIAGNOSTICS updated = ROW_COUNT;',
    '    EXIT WHEN updated = 0;',
    '    COMMIT;',
    ...(b.pauseMs > 0 ? [`    PERFORM pg_sleep(${b.pauseMs / 1000});`] : []),
    '  END LOOP;',
    'END $revisor_backfill$',
  ].join('\n');
}
