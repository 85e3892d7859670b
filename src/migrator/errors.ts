/**
 * Every failure revisor reports has a stable code. The code, never the message text,
 * decides the CLI exit status and the controller's condition reason.
 */
export const errorCodes = {
  Usage: 2,
  MigrationLoadError: 10,
  RevisionNotFound: 11,
  AmbiguousRevision: 12,
  MultipleHeads: 13,
  InvalidTarget: 14,
  UnknownRevision: 15,
  ChecksumMismatch: 16,
  InvalidPlan: 17,
  ConnectionFailed: 20,
  LockTimeout: 21,
  Cancelled: 22,
  StepLockTimeout: 23,
  MigrationFailed: 24,
  CheckFailed: 30,
  LintFailed: 31,
  WaitTimeout: 32,
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
