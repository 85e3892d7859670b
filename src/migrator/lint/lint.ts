import type { RevisionGraph } from '../chain/graph.js';
import type { Migration } from '../chain/migration.js';
import { RevisorError } from '../errors/errors.js';
import { callSiteLine, SourceMaps } from './call-site.js';
import type { Cost, RuleDefinition } from './rule.js';
import { checkStatement, defaultRules, isRuleName, type RuleName, rules } from './rules/index.js';
import { alterCommands, child, type Node, tableName } from './tree.js';

export interface Finding {
  readonly rule: RuleName;
  readonly severity: 'error' | 'warning';
  readonly revision: string;
  readonly file: string;
  readonly line: number | null;
  readonly statement: string;
  readonly message: string;
  readonly advice: string;
  /** The revision's written reason, when it waives this rule. */
  readonly waived: string | null;
  /** The table whose size decides what the statement costs, when it depends on one. */
  readonly cost: Cost | null;
  /** Judged against a database: what it costs there, or why it is harmless there. */
  readonly there: { readonly harmless: boolean; readonly text: string } | null;
}

/** libpg-query's parse: a statement's text to its parse tree. */
export type Parse = (sql: string) => Promise<{ stmts?: { stmt?: unknown }[] }>;

export async function parser(): Promise<Parse> {
  const { parse } = await import('libpg-query');
  return parse;
}

export interface LintOptions {
  /** The rules to run (default: all but the matters of taste). */
  readonly enabled?: ReadonlySet<RuleName>;
  /**
   * Tables created before this revision runs and absent from the database: a pending
   * plan's earlier steps. Lint adds the revision's own to it.
   */
  readonly createdTables?: Set<string>;
  /** Built revisions' source maps, shared by a run over many revisions. */
  readonly sourceMaps?: SourceMaps;
}

/** Tables a statement creates (CREATE TABLE, CREATE TABLE AS). */
function createdTable(stmt: Node): string | null {
  const create = child(stmt, 'CreateStmt') ?? child(child(stmt, 'CreateTableAsStmt'), 'into');
  return create ? tableName(create['relation'] ?? create['rel']) : null;
}

/** Tables a statement changes with DDL that takes a lock until the transaction ends. */
function alteredTable(stmt: Node): string | null {
  const alter = child(stmt, 'AlterTableStmt');
  if (alter && alterCommands(alter).length > 0) return tableName(alter['relation']);
  const index = child(stmt, 'IndexStmt');
  return index && !index['concurrent'] ? tableName(index['relation']) : null;
}

function checkWaivers(migration: Migration): void {
  for (const rule of Object.keys(migration.lintWaivers)) {
    if (!isRuleName(rule)) {
      throw new RevisorError(
        'MigrationLoadError',
        `${migration.source}: waiver for unknown lint rule "${rule}" (known: ${Object.keys(rules).join(', ')})`,
      );
    }
  }
}

/** Findings of one revision's upgrade SQL, parsed by PostgreSQL's own parser. */
export async function lintMigration(
  migration: Migration,
  parse: Parse,
  options: LintOptions = {},
): Promise<Finding[]> {
  checkWaivers(migration);
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
      line: s.line ?? callSiteLine(s, migration.modulePath, options.sourceMaps ?? new SourceMaps()),
      stmts: (result.stmts ?? []).map((x) => (x.stmt ?? {}) as Node),
    });
  }
  const statements = parsed.flatMap((p) => p.stmts);
  const createdTables = options.createdTables ?? new Set<string>();
  for (const table of statements.map(createdTable)) if (table) createdTables.add(table);
  const alteredTables = new Set(statements.map(alteredTable).filter((t): t is string => t !== null));
  const ctx = {
    createdTables,
    alteredTables,
    transactional: migration.transactional,
    phase: migration.phase,
  };
  const enabled = options.enabled ?? defaultRules;
  return parsed.flatMap((p) =>
    p.stmts.flatMap((stmt) =>
      checkStatement(stmt, { ...ctx, text: p.statement }, enabled).map(({ rule, hit }): Finding => {
        const definition: RuleDefinition = rules[rule];
        return {
          rule,
          severity: definition.severity,
          revision: migration.revision,
          file: migration.source,
          line: p.line,
          statement: p.statement,
          message: hit.message,
          advice: definition.advice,
          waived: migration.lintWaivers[rule] ?? null,
          cost: hit.cost ?? null,
          there: null,
        };
      }),
    ),
  );
}

/**
 * Revisions in the order they run. `pending`: they are a plan for one database, so a
 * table an earlier one creates is new there; otherwise each is judged on its own, as a
 * chain is, whose earlier tables exist in production.
 */
export async function lintMigrations(
  migrations: readonly Migration[],
  options: { enabled?: ReadonlySet<RuleName>; pending?: boolean } = {},
): Promise<Finding[]> {
  const parse = await parser();
  const planTables = options.pending ? new Set<string>() : undefined;
  const sourceMaps = new SourceMaps();
  const findings: Finding[] = [];
  for (const migration of migrations) {
    findings.push(
      ...(await lintMigration(migration, parse, {
        ...(options.enabled ? { enabled: options.enabled } : {}),
        ...(planTables ? { createdTables: planTables } : {}),
        sourceMaps,
      })),
    );
  }
  return findings;
}

export function lintGraph(
  graph: RevisionGraph,
  options: { enabled?: ReadonlySet<RuleName> } = {},
): Promise<Finding[]> {
  return lintMigrations(
    graph.ordered().map((id) => graph.get(id)),
    options,
  );
}
