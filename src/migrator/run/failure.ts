import { classify, isConnectionState } from '../errors/classify.js';
import { RevisorError } from '../errors/errors.js';
import type { Statement } from '../ops/statement.js';
import { type PgError, pgCode, sqlState } from '../pg/db.js';
import type { Step } from '../plan/planner.js';

const excerpt = (sql: string) => (sql.length > 500 ? `${sql.slice(0, 500)}…` : sql);

/** 1-based line and column of a 1-based character position within `sql`. */
export function lineColumn(sql: string, position: number): { line: number; column: number } {
  const before = sql.slice(0, Math.max(0, position - 1)).split('\n');
  return { line: before.length, column: before[before.length - 1]!.length + 1 };
}

/**
 * Turns a failure inside a step into a typed error naming the revision, the statement,
 * where in it PostgreSQL stopped, and its hint. A lost connection is ConnectionFailed:
 * the server rolled the step's transaction back, so rerunning is safe.
 */
export function stepFailure(
  step: Step,
  statement: Statement | null,
  err: unknown,
  positionInStatement?: number,
): RevisorError {
  if (err instanceof RevisorError) return err;
  const pgErr = err as PgError;
  const code = pgCode(err);
  const where = `${step.direction} of ${step.revision} (${step.migration.source})`;
  if (!code || isConnectionState(code)) {
    const classified = classify(err);
    if (classified.code !== 'ConnectionFailed') return classified;
    return new RevisorError(
      'ConnectionFailed',
      `lost the database connection during the ${where}: ${pgErr.message}${code ? ` [SQLSTATE ${code}]` : ''}; ` +
        (step.migration.transactional
          ? 'the step was rolled back by the server, so rerunning is safe'
          : 'this step is non-transactional: it is marked interrupted and is resumed by the next run'),
      { revision: step.revision, direction: step.direction, ...(code ? { sqlState: code } : {}) },
      err,
    );
  }
  const details: Record<string, unknown> = {
    revision: step.revision,
    direction: step.direction,
    sqlState: code,
    file: step.migration.source,
  };
  let message = `${where} failed: ${pgErr.message} [SQLSTATE ${code}]`;
  if (statement) {
    details['statement'] = excerpt(statement.sql);
    message += `\n  statement: ${excerpt(statement.sql)}`;
    const position = positionInStatement ?? Number(pgErr.position);
    if (Number.isInteger(position) && position > 0) {
      const { line, column } = lineColumn(statement.sql, position);
      const fileLine = statement.line === undefined ? undefined : statement.line + line - 1;
      details['position'] = { line, column, ...(fileLine ? { fileLine } : {}) };
      message += `\n  at: line ${line}, column ${column} of the statement${fileLine ? ` (${step.migration.source}:${fileLine})` : ''}`;
    } else if (statement.line !== undefined) {
      message += `\n  at: ${step.migration.source}:${statement.line}`;
    }
  }
  if (pgErr.detail) {
    details['detail'] = pgErr.detail;
    message += `\n  detail: ${pgErr.detail}`;
  }
  if (pgErr.hint) {
    details['hint'] = pgErr.hint;
    message += `\n  hint: ${pgErr.hint}`;
  }
  if (code === sqlState.lockNotAvailable) {
    return new RevisorError(
      'StepLockTimeout',
      `${message}\n  every retry timed out waiting for a table lock; find the long transaction holding it ` +
        '(pg_stat_activity), or raise --lock-timeout',
      details,
      err,
    );
  }
  message += step.migration.transactional
    ? '\n  the step was rolled back: schema and version table are as before it'
    : '\n  this step is non-transactional: statements before the failing one stayed applied';
  return new RevisorError('MigrationFailed', message, details, err);
}
