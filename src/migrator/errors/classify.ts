import { pgCode } from '../pg/db.js';
import { ConnectionLostError, RevisorError } from './errors.js';

/**
 * SQLSTATEs that mean the session, not the SQL, failed: connection exceptions (08),
 * operator intervention ending the backend (57P01 admin shutdown, 57P02 crash shutdown,
 * 57P03 cannot connect now), too many connections, authentication (28) and a missing
 * database (3D000). A transactional step they interrupt was rolled back by the server.
 */
export function isConnectionState(code: string): boolean {
  return (
    code.startsWith('08') ||
    code.startsWith('28') ||
    code === '57P01' ||
    code === '57P02' ||
    code === '57P03' ||
    code === '53300' ||
    code === '3D000'
  );
}

/** A Node.js system error (ECONNRESET, ETIMEDOUT, …): it carries errno and syscall. */
function isSystemError(err: unknown): err is NodeJS.ErrnoException {
  const e = err as NodeJS.ErrnoException | null;
  return typeof e?.code === 'string' && /^E[A-Z]+$/.test(e.code) && typeof e.syscall === 'string';
}

const firstLine = (err: unknown) => String((err as Error)?.message ?? err).split('\n')[0];

/**
 * The one classification of failures: every error revisor meets becomes a RevisorError
 * whose code decides the exit status and the controller's reason. Errors raised inside
 * a migration's own statements are classified earlier, by stepFailure, which knows the
 * step; this function sees everything else.
 */
export function classify(err: unknown): RevisorError {
  if (err instanceof RevisorError) return err;
  if (err instanceof ConnectionLostError || isSystemError(err)) {
    return new RevisorError(
      'ConnectionFailed',
      `lost the database connection: ${firstLine(err)}; a step in progress was rolled back by the server, ` +
        'so rerunning is safe',
      {},
      err,
    );
  }
  const code = pgCode(err);
  if (code && isConnectionState(code)) {
    return new RevisorError(
      'ConnectionFailed',
      `the database ended the session: ${firstLine(err)} [SQLSTATE ${code}]; rerunning is safe`,
      { sqlState: code },
      err,
    );
  }
  if (code === '42501') {
    return new RevisorError(
      'PermissionDenied',
      `${firstLine(err)} [SQLSTATE 42501]; grant the migration role what it needs (CREATE on the version ` +
        'schema, ownership of the tables it changes), or point --version-schema at a schema it owns',
      { sqlState: code },
      err,
    );
  }
  if (code) {
    return new RevisorError(
      'DatabaseError',
      `PostgreSQL refused revisor's own bookkeeping: ${firstLine(err)} [SQLSTATE ${code}]; check the ` +
        '--version-table, --version-schema and --history-table settings',
      { sqlState: code },
      err,
    );
  }
  return new RevisorError(
    'Unexpected',
    `unexpected error (a bug in revisor; please report it with this output): ${(err as Error)?.stack ?? String(err)}`,
    {},
    err,
  );
}
