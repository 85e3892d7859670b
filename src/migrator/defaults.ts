/**
 * The run's defaults, in one place: the CLI's flags and the controller's spec fields both
 * start from these (the CRD's schema repeats them for kubectl explain, and a unit test
 * holds it to them).
 */
export const runDefaults = Object.freeze({
  lockWaitMs: 300_000,
  /** How long a stopped or unreachable holder keeps the migration lock. */
  lockLeaseMs: 60_000,
  connectTimeoutMs: 10_000,
  lockTimeoutMs: 5_000,
  lockRetries: 4,
  lockRetryPauseMs: 1_000,
  statementTimeoutMs: 0,
  reportBlockersAfterMs: 1_000,
});
