import { RevisorError } from '../errors/errors.js';
import type { Statement } from '../ops/statement.js';
import { qualified } from '../ops/statement.js';
import type { Queryable } from '../pg/db.js';
import type { Step } from '../plan/planner.js';

/** An index a step's CREATE INDEX names: its schema (null: the search path's) and name. */
export interface CreatedIndex {
  readonly schema: string | null;
  readonly name: string;
}

interface ParsedIndexStmt {
  idxname?: string;
  relation?: { schemaname?: string };
}

const mayCreateIndex = /\bcreate\s+(unique\s+)?index\b/i;

/**
 * The named indexes a step's statements create, read by PostgreSQL's own parser. The
 * parser (a WebAssembly module) is loaded only for steps whose text mentions CREATE
 * INDEX, so other steps and the no-op path never pay for it.
 */
export async function indexesCreatedBy(statements: readonly Statement[]): Promise<CreatedIndex[]> {
  const candidates = statements.filter((s) => mayCreateIndex.test(s.sql));
  if (candidates.length === 0) return [];
  const { parse } = await import('libpg-query');
  const found: CreatedIndex[] = [];
  for (const statement of candidates) {
    let tree: { stmts?: { stmt?: Record<string, unknown> }[] };
    try {
      tree = await parse(statement.sql);
    } catch {
      // Unparseable text fails when it runs, with PostgreSQL's own message.
      continue;
    }
    for (const { stmt } of tree.stmts ?? []) {
      const index = stmt?.['IndexStmt'] as ParsedIndexStmt | undefined;
      if (index?.idxname) found.push({ schema: index.relation?.schemaname ?? null, name: index.idxname });
    }
  }
  return found;
}

/** Which of `indexes` exist and are INVALID (pg_index.indisvalid false): a build cut off. */
export async function invalidIndexes(
  db: Queryable,
  indexes: readonly CreatedIndex[],
): Promise<{ schema: string; name: string }[]> {
  if (indexes.length === 0) return [];
  const { rows } = await db.query<{ schema: string; name: string }>(
    `SELECT n.nspname AS schema, c.relname AS name
       FROM unnest($1::text[], $2::text[]) AS wanted(schema, name)
       JOIN pg_class c ON c.relname = wanted.name
       JOIN pg_namespace n ON n.oid = c.relnamespace
        AND n.nspname = coalesce(wanted.schema, current_schema())
       JOIN pg_index i ON i.indexrelid = c.oid
      WHERE NOT i.indisvalid`,
    [indexes.map((i) => i.schema), indexes.map((i) => i.name)],
  );
  return rows;
}

export const dropInvalidIndex = (index: { schema: string; name: string }): Statement => ({
  sql: `DROP INDEX CONCURRENTLY IF EXISTS ${qualified(index.name, index.schema)}`,
});

/** The step left INVALID indexes behind: it is not recorded as applied. */
export function invalidIndexError(
  step: Step,
  invalid: readonly { schema: string; name: string }[],
): RevisorError {
  const names = invalid.map((i) => qualified(i.name, i.schema));
  return new RevisorError(
    'MigrationFailed',
    `the ${step.direction} of ${step.revision} (${step.migration.source}) left INVALID index(es) ${names.join(', ')} ` +
      '(a CREATE INDEX CONCURRENTLY that did not finish); the step was not recorded as applied. Run "revisor upgrade" ' +
      `again: it drops ${invalid.length > 1 ? 'them' : 'it'} and builds again. By hand: ${names.map((n) => `DROP INDEX CONCURRENTLY ${n};`).join(' ')}`,
    { revision: step.revision, invalidIndexes: names },
  );
}
