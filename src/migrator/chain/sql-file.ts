import { RevisorError } from '../errors/errors.js';
import type { Statement } from '../ops/statement.js';
import { restoreColumn, restoreTable, stashColumn, stashTable } from '../sql/stash-sql.js';
import { checksumText } from './checksum.js';
import type { Migration } from './migration.js';
import { type Phase, phases } from './phase.js';
import { splitSql } from './sql-split.js';

/**
 * A plain SQL migration:
 *   -- revision: 1a2b3c4d5e6f
 *   -- down_revision: None            (several ids, comma-separated, make a merge)
 *   -- message: add widgets
 *   -- branch_labels: billing         (optional, comma-separated)
 *   -- depends_on: 3c4d5e6f7a8b       (optional, revision ids or branch labels, comma-separated)
 *   -- transactional: false           (optional, default true)
 *   -- phase: post-deploy             (optional, default pre-deploy)
 *   -- destroys: table t, column t.c  (optional: stashed before the upgrade, restored after the downgrade)
 *   -- create_date: 2025-10-18 02:30  (optional)
 *   -- lint_waive: <rule>: <reason>   (optional, repeatable)
 *   -- migrate:upgrade
 *   …
 *   -- migrate:downgrade
 *   …
 */
const headerKeys = new Set([
  'revision',
  'down_revision',
  'branch_labels',
  'depends_on',
  'message',
  'transactional',
  'phase',
  'destroys',
  'create_date',
  'lint_waive',
]);
/**
 * Revision ids as Alembic takes them: any text but the characters Alembic refuses (@ - + :),
 * whitespace, and the comma, slashes that revisor's headers and file names need; up to 255.
 */
export const revisionIdPattern = /^[^\s@+\-:,/\\]{1,255}$/;
export const revisionIdRule = '1-255 characters, none of whitespace @ + - : , / \\';

export interface HeaderLines {
  readonly revision: number;
  readonly downRevision: number;
}

export interface SqlMigration extends Migration {
  readonly headerLines: HeaderLines;
}

function fail(file: string, line: number, what: string): never {
  const where = line > 0 ? `${file}:${line}` : file;
  throw new RevisorError('MigrationLoadError', `${where}: ${what}`, { file, ...(line > 0 ? { line } : {}) });
}

/** A comma-separated list of ids or labels (`None` or empty: none), as a header or a module field gives it. */
export function parseRevisionList(
  value: string,
  file: string,
  line: number,
  field: 'down_revision' | 'branch_labels' | 'depends_on' = 'down_revision',
): string[] {
  if (value === '' || value === 'None' || value === 'null') return [];
  const ids = value.split(',').map((id) => id.trim());
  for (const id of ids) {
    if (!revisionIdPattern.test(id))
      fail(file, line, `malformed ${JSON.stringify(id)} in ${field} (${revisionIdRule})`);
  }
  if (new Set(ids).size !== ids.length) fail(file, line, `${field} names the same one twice`);
  return ids;
}

const listHeader = (
  entry: { value: string; line: number } | undefined,
  file: string,
  field: 'branch_labels' | 'depends_on',
) => (entry ? parseRevisionList(entry.value, file, entry.line, field) : []);

/** `-- destroys: table orders, column users.email, column shop.users.email`. */
function destroysHeader(
  entry: { value: string; line: number } | undefined,
  file: string,
): { schema?: string; table: string; column?: string }[] {
  if (!entry) return [];
  return entry.value.split(',').map((item) => {
    const match = /^(table|column)\s+(\S+)$/.exec(item.trim());
    if (!match)
      fail(
        file,
        entry.line,
        `destroys lists "table <name>" or "column <table>.<column>", got ${JSON.stringify(item.trim())}`,
      );
    const parts = match[2]!.split('.');
    if (match[1] === 'table') {
      if (parts.length > 2) fail(file, entry.line, `destroys: ${match[2]} is not [schema.]table`);
      return parts.length === 2 ? { schema: parts[0]!, table: parts[1]! } : { table: parts[0]! };
    }
    if (parts.length < 2 || parts.length > 3)
      fail(file, entry.line, `destroys: ${match[2]} is not [schema.]table.column`);
    return parts.length === 3
      ? { schema: parts[0]!, table: parts[1]!, column: parts[2]! }
      : { table: parts[0]!, column: parts[1]! };
  });
}

export function parseSqlMigration(text: string, file: string): SqlMigration {
  const lines = text.replace(/\r?\n$/, '').split(/\r?\n/);
  const header = new Map<string, { value: string; line: number }>();
  const waivers: Record<string, string> = {};
  let index = 0;
  for (; index < lines.length; index++) {
    const raw = lines[index]!.trim();
    const lineNo = index + 1;
    if (raw === '') continue;
    if (raw === '-- migrate:upgrade') break;
    if (raw === '-- migrate:downgrade')
      fail(file, lineNo, '-- migrate:downgrade comes before -- migrate:upgrade');
    const match = /^--\s*([a-z_]+)\s*:\s*(.*)$/.exec(raw);
    if (!match) fail(file, lineNo, `malformed header line ${JSON.stringify(raw)} (expected "-- key: value")`);
    const [, key, value] = match as unknown as [string, string, string];
    if (!headerKeys.has(key))
      fail(file, lineNo, `unknown header "${key}" (known: ${[...headerKeys].join(', ')})`);
    if (key === 'lint_waive') {
      const waiver = /^([a-z0-9-]+)\s*:\s*(\S.*)$/.exec(value.trim());
      if (!waiver) fail(file, lineNo, 'lint_waive takes "<rule>: <reason>"');
      waivers[waiver[1]!] = waiver[2]!;
      continue;
    }
    if (header.has(key)) fail(file, lineNo, `header "${key}" appears twice`);
    header.set(key, { value: value.trim(), line: lineNo });
  }
  const upgradeAt = index;
  if (upgradeAt >= lines.length) fail(file, lines.length, 'missing section "-- migrate:upgrade"');
  const downgradeAt = lines.findIndex((l, i) => i > upgradeAt && l.trim() === '-- migrate:downgrade');
  if (downgradeAt === -1) fail(file, lines.length, 'missing section "-- migrate:downgrade"');
  const stray = lines.findIndex((l, i) => i > downgradeAt && /^--\s*migrate:/.test(l.trim()));
  if (stray !== -1)
    fail(file, stray + 1, `unexpected section marker ${JSON.stringify(lines[stray]!.trim())}`);

  const revision = header.get('revision');
  if (!revision) fail(file, 1, 'missing header "-- revision: <id>"');
  if (!revisionIdPattern.test(revision.value)) {
    fail(file, revision.line, `malformed revision id ${JSON.stringify(revision.value)} (${revisionIdRule})`);
  }
  const down = header.get('down_revision');
  if (!down) fail(file, 1, 'missing header "-- down_revision: <id>|None"');
  let transactional = true;
  const tx = header.get('transactional');
  if (tx) {
    if (tx.value !== 'true' && tx.value !== 'false')
      fail(file, tx.line, 'transactional must be true or false');
    transactional = tx.value === 'true';
  }
  const phaseHeader = header.get('phase');
  if (phaseHeader && !phases.includes(phaseHeader.value as Phase))
    fail(file, phaseHeader.line, `phase must be ${phases.join(' or ')}`);
  // Split on first use: checking an applied chain needs only the checksums of the texts.
  const section = (from: number, to: number) => {
    const text = lines.slice(from + 1, to).join('\n');
    let statements: Statement[] | undefined;
    // Kept: the operator checks an applied chain's checksums at every look.
    let sum: string | undefined;
    return {
      statements: (): Statement[] => {
        statements ??= splitSql(text, from + 2);
        return statements;
      },
      checksum: () => {
        sum ??= checksumText(text.trim());
        return sum;
      },
    };
  };
  const upgrade = section(upgradeAt, downgradeAt);
  const downgrade = section(downgradeAt, lines.length);
  const destroyed = destroysHeader(header.get('destroys'), file);
  const stashes = destroyed.map((d) =>
    d.column === undefined
      ? stashTable(d.schema, d.table, revision.value, false)
      : stashColumn(d.schema, d.table, d.column, revision.value, false),
  );
  const restores = destroyed.map((d) =>
    d.column === undefined
      ? restoreTable(d.schema, d.table, revision.value)
      : restoreColumn(d.schema, d.table, d.column, revision.value),
  );
  return {
    revision: revision.value,
    downRevisions: parseRevisionList(down.value, file, down.line),
    branchLabels: listHeader(header.get('branch_labels'), file, 'branch_labels'),
    dependsOn: listHeader(header.get('depends_on'), file, 'depends_on'),
    message: header.get('message')?.value ?? '',
    createDate: header.get('create_date')?.value ?? null,
    transactional,
    phase: (phaseHeader?.value as Phase | undefined) ?? 'pre-deploy',
    lintWaivers: waivers,
    source: file,
    headerLines: { revision: revision.line, downRevision: down.line },
    upgrade: () => (stashes.length ? [...stashes, ...upgrade.statements()] : upgrade.statements()),
    downgrade: () => (restores.length ? [...downgrade.statements(), ...restores] : downgrade.statements()),
    hasDowngrade: () => downgrade.statements().length > 0,
    checksum: (direction) => (direction === 'upgrade' ? upgrade : downgrade).checksum(),
  };
}

/** What a SQL migration file's header says. */
export interface SqlMigrationHeader {
  readonly revision: string;
  readonly downRevisions: readonly string[];
  readonly branchLabels?: readonly string[];
  readonly dependsOn?: readonly string[];
  readonly message: string;
  readonly createDate?: string | null;
  readonly transactional?: boolean;
  readonly phase?: Phase;
}

/** The text of a SQL migration file: the header above, then both sections. */
export function renderSqlMigration(header: SqlMigrationHeader, upgrade: string, downgrade: string): string {
  const labels = header.branchLabels ?? [];
  const deps = header.dependsOn ?? [];
  return [
    `-- revision: ${header.revision}`,
    `-- down_revision: ${header.downRevisions.length ? header.downRevisions.join(', ') : 'None'}`,
    ...(labels.length ? [`-- branch_labels: ${labels.join(', ')}`] : []),
    ...(deps.length ? [`-- depends_on: ${deps.join(', ')}`] : []),
    `-- message: ${header.message.replace(/\s*\n\s*/g, ' ')}`,
    ...(header.createDate ? [`-- create_date: ${header.createDate}`] : []),
    ...(header.transactional === false ? ['-- transactional: false'] : []),
    ...(header.phase === 'post-deploy' ? ['-- phase: post-deploy'] : []),
    '-- migrate:upgrade',
    upgrade,
    '-- migrate:downgrade',
    downgrade,
  ].join('\n');
}
