import type { RevisionGraph } from '../chain/graph.js';
import type { Migration } from '../chain/migration.js';
import { RevisorError } from '../errors/errors.js';
import { checkStatement, createdTable, type Node, type RuleName, rules } from './rules.js';

export interface Finding {
  readonly rule: RuleName;
  readonly revision: string;
  readonly file: string;
  readonly line: number | null;
  readonly statement: string;
  readonly message: string;
  readonly advice: string;
  /** The revision's written reason, when it waives this rule. */
  readonly waived: string | null;
}

/** libpg-query's parse: a statement's text to its parse tree. */
export type Parse = (sql: string) => Promise<{ stmts?: { stmt?: unknown }[] }>;

async function parser(): Promise<Parse> {
  const { parse } = await import('libpg-query');
  return parse;
}

/** Findings of one revision's upgrade SQL, parsed by PostgreSQL's own parser. */
export async function lintMigration(migration: Migration, parse: Parse): Promise<Finding[]> {
  for (const rule of Object.keys(migration.lintWaivers)) {
    if (!(rule in rules)) {
      throw new RevisorError(
        'MigrationLoadError',
        `${migration.source}: waiver for unknown lint rule "${rule}" (known: ${Object.keys(rules).join(', ')})`,
      );
    }
  }
  const parsed: { statement: string; line: number | null; stmts: Node[] }[] = [];
  for (const s of migration.upgrade()) {
    let result: Awaited<ReturnType<Parse>>;
    try {
      result = await parse(s.sql);
    } catch (err) {
      throw new RevisorError(
        'MigrationLoadError',
        `${migration.source}${s.line ? `:${s.line}` : ''}: revision ${migration.revision} has SQL PostgreSQL cannot parse: ${(err as Error).message}`,
        { revision: migration.revision },
      );
    }
    parsed.push({
      statement: s.sql,
      line: s.line ?? null,
      stmts: (result.stmts ?? []).map((x) => (x.stmt ?? {}) as Node),
    });
  }
  const createdTables = new Set(
    parsed.flatMap((p) => p.stmts.map(createdTable).filter((t): t is string => t !== null)),
  );
  const ctx = { createdTables, transactional: migration.transactional, phase: migration.phase };
  return parsed.flatMap((p) =>
    p.stmts.flatMap((stmt) =>
      checkStatement(stmt, ctx).map(
        (hit): Finding => ({
          rule: hit.rule,
          revision: migration.revision,
          file: migration.source,
          line: p.line,
          statement: p.statement,
          message: hit.message,
          advice: rules[hit.rule],
          waived: migration.lintWaivers[hit.rule] ?? null,
        }),
      ),
    ),
  );
}

export async function lintGraph(graph: RevisionGraph): Promise<Finding[]> {
  const parse = await parser();
  const findings: Finding[] = [];
  for (const id of graph.ordered()) findings.push(...(await lintMigration(graph.get(id), parse)));
  return findings;
}
