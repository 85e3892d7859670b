import { readFile } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { type FailOn, type Finding, loadLint, RevisorError } from '../../migrator/index.js';
import { count, str } from '../args.js';
import { type Context, databaseConfigured, migrationsDir } from '../context.js';
import { failing, githubReport, sarifReport, textReport } from '../lint-report.js';
import { createMigrator, loadGraph } from '../migrator-context.js';
import { print, printJson, reportError } from '../output.js';
import { packageVersion } from '../package-version.js';

const formats = ['text', 'json', 'github', 'sarif'] as const;
const failOns = ['error', 'warning', 'never'] as const;

function oneOf<T extends string>(
  value: string | undefined,
  allowed: readonly T[],
  name: string,
  fallback: T,
): T {
  if (value === undefined) return fallback;
  if (!(allowed as readonly string[]).includes(value))
    throw new RevisorError('Usage', `--${name} must be one of ${allowed.join(', ')}, not "${value}"`);
  return value as T;
}

/** The chain's lint config, from revisor-lint.json beside its revision files, if there is one. */
async function chainConfig(ctx: Context) {
  const lint = await loadLint();
  const file = join(migrationsDir(ctx.values), lint.lintConfigFile);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return lint.defaultLintConfig;
    throw new RevisorError('Usage', `cannot read ${file}: ${(err as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new RevisorError('Usage', `${file} is not JSON: ${(err as Error).message}`);
  }
  return lint.lintConfigFrom(json, relative(process.cwd(), file) || file);
}

/**
 * Revisions named on the command line, by id or by file: what a pull request adds. The
 * files are compared as paths, relative to where lint runs, as findings name them.
 */
function selected(findings: readonly Finding[], names: readonly string[]): Finding[] {
  if (names.length === 0) return [...findings];
  const wanted = new Set(names.map((n) => (n.includes('/') || n.includes('.') ? resolve(n) : n)));
  return findings.filter((f) => wanted.has(f.revision) || wanted.has(resolve(f.file)));
}

/**
 * revisor lint [revision|file…]: each revision's upgrade SQL, parsed by PostgreSQL's parser.
 * With a database configured, only what it would run next, judged by its tables.
 */
export async function lint(ctx: Context): Promise<number> {
  const format = ctx.json ? 'json' : oneOf(str(ctx.values, 'format'), formats, 'format', 'text');
  const failOn: FailOn = oneOf(str(ctx.values, 'fail-on'), failOns, 'fail-on', 'error');
  const config = await chainConfig(ctx);
  const thresholds = {
    smallTableRows: count(str(ctx.values, 'small-table'), 'small-table', config.thresholds.smallTableRows),
  };
  const lintTools = await loadLint();
  let findings: Finding[];
  let revisions: number;
  const pending = databaseConfigured(ctx);
  if (pending) {
    const migrator = await createMigrator(ctx);
    try {
      const result = await migrator.lintPending('head', { enabled: config.enabled, thresholds });
      findings = [...result.findings];
      revisions = result.steps.length;
    } finally {
      await migrator.close();
    }
  } else {
    const graph = await loadGraph(ctx.values);
    findings = await lintTools.lintGraph(graph, { enabled: config.enabled });
    revisions = graph.size;
  }
  findings = selected(findings, ctx.positionals);
  if (ctx.positionals.length > 0) revisions = new Set(findings.map((f) => f.revision)).size;
  if (format === 'json') printJson({ pending, findings });
  else if (format === 'sarif') printJson(sarifReport(findings, lintTools.rules, packageVersion()));
  else if (format === 'github') for (const line of githubReport(findings)) print(line);
  else
    for (const line of textReport(findings, { revisions, pending, showAll: ctx.values['show-all'] === true }))
      print(line);
  const failed = failing(findings, failOn);
  if (failed.length === 0) return 0;
  return reportError(
    new RevisorError(
      'LintFailed',
      `${failed.length} finding(s) at or above --fail-on ${failOn}; fix them, or waive each with a reason`,
    ),
  );
}
