import type { Statement } from '../ops/statement.js';
import { qualified } from '../ops/statement.js';
import type { Step } from '../plan/planner.js';
import { historyTable, type Tables } from './bookkeeping.js';
import { sqlInteger, stepPrelude } from './step-sql.js';

/**
 * Several transactional steps as one simple-protocol script, so the server runs them
 * back to back instead of idling a round trip between steps. A script cannot carry bind
 * parameters, so what a step records (its revision, checksum, version-row changes) is
 * staged first, by one parameterized statement, in session settings named by the step's
 * ordinal; the script itself holds only the migrations' own SQL, quoted identifiers and
 * integers formatted here.
 */

/**
 * The script's first row marks its start; each step's row follows the step's COMMIT (or,
 * in the run's transaction, its last statement), so a row means the step took effect.
 */
export interface ProgressRow {
  revisor_step: number;
  revisor_at: Date;
}

const settingPrefix = 'revisor.step_';
// now() is the same for every transaction of a script (it starts with the query
// message), so each step notes its own start.
const startedSetting = 'revisor.step_started';
const noteStart = `set_config('${startedSetting}', extract(epoch FROM clock_timestamp())::text, true)`;

/** What the script's finish statements read back for one step (see {@link stageSteps}). */
interface StagedStep {
  readonly versionTable: string;
  readonly executedBy: string;
  readonly revision: string;
  readonly direction: string;
  readonly checksum: string;
  readonly headsAfter: string;
  readonly deletes: readonly string[];
  readonly update: readonly [string, string] | null;
  readonly inserts: readonly string[];
}

function staged(t: Tables, executedBy: string, step: Step): StagedStep {
  const update = step.changes.find((c) => c.kind === 'update');
  return {
    versionTable: t.versionTable,
    executedBy,
    revision: step.revision,
    direction: step.direction,
    checksum: step.migration.checksum(step.direction),
    headsAfter: step.headsAfter.join(','),
    deletes: step.changes.flatMap((c) => (c.kind === 'delete' ? [c.revision] : [])),
    update: update ? [update.from, update.to] : null,
    inserts: step.changes.flatMap((c) => (c.kind === 'insert' ? [c.revision] : [])),
  };
}

/** One statement that stages every step's record in the session, before the script runs. */
export function stageSteps(t: Tables, executedBy: string, steps: readonly Step[], first: number): Statement {
  return {
    sql: `SELECT count(set_config('${settingPrefix}' || o, j, false)) FROM unnest($1::int[], $2::text[]) AS s(o, j)`,
    params: [
      steps.map((_, i) => first + i),
      steps.map((step) => JSON.stringify(staged(t, executedBy, step))),
    ],
  };
}

/** The prepared statement a per-migration script finishes each step with. */
export const finishName = 'revisor_finish';

/**
 * A step's version-row changes and history row, from the record staged for the ordinal
 * it is executed with; prepared once per script, so it is planned once rather than per
 * step. The last column makes a row count other than the one expected (the version
 * table was edited during the run) an error inside the step's transaction, so it is
 * rolled back: SQL has no RAISE, and a cast of text that is not a number fails. The text
 * is built from the row so that it is not a constant, which the planner would fold and
 * fail on every time.
 */
export function prepareFinish(t: Tables): string {
  const version = qualified(t.versionTable, t.schema);
  return (
    `PREPARE ${finishName}(int) AS WITH s AS (SELECT current_setting('${settingPrefix}' || $1)::jsonb AS j), ` +
    `d AS (DELETE FROM ${version} WHERE version_num IN (SELECT jsonb_array_elements_text(s.j->'deletes') FROM s) RETURNING 1), ` +
    `u AS (UPDATE ${version} v SET version_num = s.j->'update'->>1 FROM s WHERE v.version_num = s.j->'update'->>0 RETURNING 1), ` +
    `i AS (INSERT INTO ${version} (version_num) SELECT jsonb_array_elements_text(s.j->'inserts') FROM s RETURNING 1), ` +
    `h AS (INSERT INTO ${historyTable(t)} (version_table, revision, direction, checksum, started_at, finished_at, ` +
    'duration_ms, executed_by, outcome, heads_after) ' +
    "SELECT j->>'versionTable', j->>'revision', j->>'direction', j->>'checksum', t.started, clock_timestamp(), " +
    "extract(epoch FROM clock_timestamp() - t.started) * 1000, j->>'executedBy', 'applied', j->>'headsAfter' " +
    `FROM s, (SELECT to_timestamp(current_setting('${startedSetting}')::float8) AS started) t RETURNING 1) ` +
    "SELECT CASE WHEN (SELECT count(*) FROM d) = jsonb_array_length(j->'deletes') " +
    "AND (SELECT count(*) FROM u) = (jsonb_typeof(j->'update') = 'array')::int " +
    "THEN 0 ELSE ('the version table changed under ' || (j->>'revision') || '; was it edited by hand?')::int END AS revisor_check FROM s"
  );
}

const progress = (ordinal: number) =>
  `SELECT ${sqlInteger(ordinal)} AS revisor_step, clock_timestamp() AS revisor_at`;

export interface BatchSettings {
  readonly tables: Tables;
  readonly lockTimeoutMs: number;
  readonly statementTimeoutMs: number;
  /** The lock's fence as SQL text (lock.ts fenceSql), opening each step's transaction. */
  readonly fence: string;
}

/**
 * The script for steps `first`, `first + 1`, …: in per-migration mode each step is
 * its own transaction ending in its staged finish; in the run's single transaction each
 * step opens a savepoint (a failed step is rolled back to it and retried on its own).
 * Statements are joined by a newline and a semicolon, so a trailing line comment cannot
 * swallow the separator.
 */
export function batchScript(
  mode: 'transaction' | 'savepoint',
  steps: readonly { readonly statements: readonly Statement[] }[],
  first: number,
  settings: BatchSettings,
): string {
  const parts = [progress(first - 1)];
  if (mode === 'transaction') parts.push(prepareFinish(settings.tables));
  steps.forEach((step, i) => {
    const ordinal = first + i;
    parts.push(stepPrelude(mode, settings.lockTimeoutMs, settings.statementTimeoutMs, settings.fence));
    if (mode === 'transaction') parts.push(`SELECT ${noteStart}`);
    for (const statement of step.statements) parts.push(statement.sql);
    if (mode === 'transaction') parts.push(`EXECUTE ${finishName}(${sqlInteger(ordinal)})`, 'COMMIT');
    parts.push(progress(ordinal));
  });
  if (mode === 'transaction') parts.push(`DEALLOCATE ${finishName}`);
  return parts.join('\n;\n');
}
