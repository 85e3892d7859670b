import type { Finding } from './lint.js';

export type FailOn = 'error' | 'warning' | 'never';

/** A finding that asks nothing of anyone: waived in writing, or harmless on the database's table. */
export const isSettled = (f: Finding): boolean => f.waived !== null || f.there?.harmless === true;

/** Whether a finding fails a run (the CLI's --fail-on) or holds a plan for review (the operator, at error). */
export const failsAt = (f: Finding, failOn: FailOn): boolean =>
  failOn !== 'never' && !isSettled(f) && (failOn === 'warning' || f.severity === 'error');
