import type { ErrorCode } from '../migrator/errors.js';

/** One reason per reconcile outcome; they appear in conditions, Events and metrics. */
export const Reason = {
  Applied: 'Applied',
  Migrating: 'Migrating',
  WaitingForLock: 'WaitingForLock',
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
} as const;

export type ReasonName = (typeof Reason)[keyof typeof Reason];

/** The migrator's error codes, mapped 1:1 onto reasons. */
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
    default:
      return Reason.MigrationFailed;
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
  ];
  return transient.includes(reason);
}
