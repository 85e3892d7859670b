/** One reason per reconcile outcome; they appear in conditions, Events and metrics. */
export const Reason = {
  Applied: 'Applied',
  /** An Event: a run has gone on for a second (in-process), or its Job was created. */
  Started: 'Started',
  Migrating: 'Migrating',
  WaitingForLock: 'WaitingForLock',
  /** A step waits for a table lock other sessions hold; the message names them. */
  WaitingForTableLock: 'WaitingForTableLock',
  /** spec.blockers.cancelAfterSeconds: a blocking session's query was cancelled or its session ended (an Event). */
  BlockerEnded: 'BlockerEnded',
  DryRun: 'DryRun',
  Suspended: 'Suspended',
  InvalidSpec: 'InvalidSpec',
  DowngradeNotAllowed: 'DowngradeNotAllowed',
  RevisionNotFound: 'RevisionNotFound',
  SecretNotFound: 'SecretNotFound',
  ConfigMapNotFound: 'ConfigMapNotFound',
  ConnectionFailed: 'ConnectionFailed',
  MigrationFailed: 'MigrationFailed',
  ChecksumMismatch: 'ChecksumMismatch',
  UnknownDatabaseRevision: 'UnknownDatabaseRevision',
  InvalidChain: 'InvalidChain',
  OutOfBandChange: 'OutOfBandChange',
  RetriesExhausted: 'RetriesExhausted',
  NoDrift: 'NoDrift',
  SchemaDrift: 'SchemaDrift',
  WaitingForRollout: 'WaitingForRollout',
  ApprovalRequired: 'ApprovalRequired',
  BackupFailed: 'BackupFailed',
  DriftBlocked: 'DriftBlocked',
  StepLockTimeout: 'StepLockTimeout',
  Cancelled: 'Cancelled',
  PermissionDenied: 'PermissionDenied',
  DatabaseError: 'DatabaseError',
  InternalError: 'InternalError',
  DatabaseMoved: 'DatabaseMoved',
  SecretNotPermitted: 'SecretNotPermitted',
  HostNotPermitted: 'HostNotPermitted',
  InvalidDatabaseURL: 'InvalidDatabaseURL',
  ReferenceUnreadable: 'ReferenceUnreadable',
  WaitingForJob: 'WaitingForJob',
  JobFailed: 'JobFailed',
  JobLost: 'JobLost',
  JobDeadlineExceeded: 'JobDeadlineExceeded',
  JobRejected: 'JobRejected',
  /** DatabaseMigrationSet: databases are being started on the target in waves. */
  RollingOut: 'RollingOut',
  /** DatabaseMigrationSet: rollout.maxFailures databases failed; nothing new starts. */
  RolloutHalted: 'RolloutHalted',
} as const;

import type { ErrorCode } from '../migrator/index.js';

export type ReasonName = (typeof Reason)[keyof typeof Reason];

/**
 * The migrator's error codes onto reasons: every code has exactly one, and a new code
 * does not compile until it is given one.
 */
export function reasonFor(code: ErrorCode): ReasonName {
  switch (code) {
    case 'RevisionNotFound':
    case 'AmbiguousRevision':
    case 'MultipleHeads':
    case 'InvalidTarget':
      return Reason.RevisionNotFound;
    case 'UnknownRevision':
      return Reason.UnknownDatabaseRevision;
    case 'ChecksumMismatch':
      return Reason.ChecksumMismatch;
    case 'ConnectionFailed':
      return Reason.ConnectionFailed;
    case 'LockTimeout':
      return Reason.WaitingForLock;
    case 'MigrationLoadError':
    case 'InvalidPlan':
      return Reason.InvalidChain;
    case 'StepLockTimeout':
      return Reason.StepLockTimeout;
    case 'Cancelled':
      return Reason.Cancelled;
    case 'PermissionDenied':
      return Reason.PermissionDenied;
    case 'DatabaseError':
      return Reason.DatabaseError;
    case 'Usage':
      return Reason.InvalidSpec;
    case 'MigrationFailed':
    case 'CheckFailed':
    case 'LintFailed':
    case 'WaitTimeout':
      return Reason.MigrationFailed;
    case 'SchemaDiffers':
      return Reason.SchemaDrift;
    case 'BackupFailed':
      return Reason.BackupFailed;
    case 'Unexpected':
      return Reason.InternalError;
    case 'PlanOutdated':
      return Reason.DatabaseMoved;
    default: {
      const unhandled: never = code;
      return unhandled;
    }
  }
}

/** Failures that may pass by themselves: retried with backoff. The rest wait for a change. */
export function isTransient(reason: ReasonName): boolean {
  const transient: ReasonName[] = [
    Reason.ConnectionFailed,
    Reason.WaitingForLock,
    Reason.MigrationFailed,
    Reason.SecretNotFound,
    Reason.ConfigMapNotFound,
    Reason.StepLockTimeout,
    Reason.Cancelled,
    Reason.DatabaseMoved,
    // Fixed by whoever may write the Secret, which the controller does not watch: retried with backoff.
    Reason.SecretNotPermitted,
    Reason.HostNotPermitted,
    Reason.InvalidDatabaseURL,
    Reason.ReferenceUnreadable,
    // Deleted or evicted before it finished: a new Job runs.
    Reason.JobLost,
  ];
  return transient.includes(reason);
}
