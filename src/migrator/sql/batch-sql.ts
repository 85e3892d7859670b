import type { Statement } from '../ops/statement.js';
import type { Step } from '../plan/planner.js';
import { finishName, prepareFinish, settingPrefix, startedSetting, type Tables } from './bookkeeping.js';

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

// now() is the same for every transaction of a script (it starts with the query
// message), so each step notes its own start.
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
