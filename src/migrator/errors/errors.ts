/**
 * Every failure revisor reports has a stable code. The code, never the message text,
 * decides the CLI exit status and the controller's condition reason.
 */
export const errorCodes = {
  /** A bug in revisor: nothing the user did explains it. */
  Unexpected: 1,
  Usage: 2,
  MigrationLoadError: 10,
  RevisionNotFound: 11,
  AmbiguousRevision: 12,
  MultipleHeads: 13,
  InvalidTarget: 14,
  UnknownRevision: 15,
  ChecksumMismatch: 16,
  InvalidPlan: 17,
  /** The database moved between planning and applying (apply of a plan made earlier). */
  PlanOutdated: 18,
  ConnectionFailed: 20,
  LockTimeout: 21,
  Cancelled: 22,
  StepLockTimeout: 23,
  MigrationFailed: 24,
  PermissionDenied: 25,
  DatabaseError: 26,
  CheckFailed: 30,
  LintFailed: 31,
  WaitTimeout: 32,
  /** revisor diff / drift: the two schemas differ. */
  SchemaDiffers: 33,
  /** --backup: pg_dump is missing or failed; nothing was run. */
  BackupFailed: 34,
} as const;

export type ErrorCode = keyof typeof errorCodes;

export class RevisorError extends Error {
  readonly code: ErrorCode;
  /** Structured facts for --json output and status messages; never credentials. */
  readonly details: Readonly<Record<string, unknown>>;

  constructor(code: ErrorCode, message: string, details: Record<string, unknown> = {}, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'RevisorError';
    this.code = code;
    this.details = details;
  }

  get exitCode(): number {
    return errorCodes[this.code];
  }
}

export function isRevisorError(err: unknown, code?: ErrorCode): err is RevisorError {
  return err instanceof RevisorError && (code === undefined || err.code === code);
}

/**
 * The session's transport failed (socket closed, server gone, connection ended): thrown
 * by the session wrapper, which knows the connection state, so nobody has to recognise
 * a driver's message text.
 */
export class ConnectionLostError extends Error {
  constructor(message: string, cause: unknown) {
    super(message, { cause });
    this.name = 'ConnectionLostError';
  }
}

/** The error class a revisor process exited with (a Job's container), undefined for another exit. */
export function errorCodeOfExit(exitCode: number): ErrorCode | undefined {
  return (Object.keys(errorCodes) as ErrorCode[]).find((code) => errorCodes[code] === exitCode);
}
