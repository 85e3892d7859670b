import {
  type Catalog,
  type CheckIssue,
  chainIndexProblems,
  RevisorError,
  schemaTools,
  staircase,
  staticChecks,
} from '../../migrator/index.js';
import { str } from '../args.js';
import { type Context, indexable, migrationsDir, tablesFrom } from '../context.js';
import { loadGraph } from '../migrator-context.js';
import { print, printJson, reportError } from '../output.js';
import { canonical, catalogFrom, catalogScope } from '../schema-source.js';
import { scratchMigrator, withScratchDatabase } from '../scratch.js';

// The diff engine is loaded with this command, not on every command's way in.
const { catalogDifferences, readCatalog } = await schemaTools();

/**
 * pytest-alembic's checks, built in: the heads, a downgrade for every revision, and the
 * staircase on a scratch database created beside --database-url (or in the embedded
 * PostgreSQL) and dropped afterwards.
 */
export async function check(ctx: Context): Promise<number> {
  const graph = await loadGraph(ctx.values);
  const declared = str(ctx.values, 'heads')
    ?.split(',')
    .map((h) => h.trim());
  const issues: CheckIssue[] = [
    ...staticChecks(graph, declared),
    ...(indexable(ctx.values) ? await chainIndexProblems(migrationsDir(ctx.values), graph) : []).map(
      (message) => ({
        kind: 'chain-index' as const,
        message,
      }),
    ),
  ];
  if (issues.length === 0) {
    const schema = str(ctx.values, 'schema');
    const desired = schema === undefined ? null : await catalogFrom(ctx, `file:${schema}`);
    let head: Catalog | null = null;
    await withScratchDatabase(ctx, 'check', async (connection, db) => {
      const migrator = scratchMigrator(ctx, graph, connection);
      try {
        issues.push(
          ...(await staircase(graph, migrator, db, tablesFrom(ctx.values), (revision) =>
            ctx.logger.info({ revision }, `staircase: ${revision} up, down, up`),
          )),
        );
      } finally {
        await migrator.close();
      }
      // Alembic's check: the head has the desired schema (the staircase left the database at it).
      if (desired && issues.length === 0) {
        head = await readCatalog(db, catalogScope(ctx));
      }
    });
    if (desired && head) {
      // Both sides in PostgreSQL's fixed-point form, so only real differences count.
      const differences = catalogDifferences(await canonical(ctx, head), desired);
      if (differences.length > 0) {
        issues.push({
          kind: 'schema-differs',
          message: `the head's schema differs from ${schema} (- only in the head, + only in the file); run "revisor revision --autogenerate --schema ${schema}"`,
          diff: differences,
        });
      }
    }
  }
  if (ctx.json) printJson({ revisions: graph.size, heads: graph.heads, issues });
  else if (issues.length === 0) {
    print(
      `check: ${graph.size} revision(s), head ${graph.heads.join(', ')}: every step upgrades, downgrades cleanly, upgrades again`,
    );
  } else {
    for (const issue of issues) {
      print(`check: ${issue.message}`);
      for (const line of issue.diff ?? []) print(`    ${line}`);
    }
  }
  if (issues.length === 0) return 0;
  const revision = issues.find((i) => i.revision)?.revision;
  return reportError(
    new RevisorError(
      'CheckFailed',
      `${issues.length} problem(s)${revision ? `, first at ${revision}` : ''}; see above`,
      {
        issues: issues.length,
      },
    ),
  );
}
