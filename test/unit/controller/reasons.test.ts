import { describe, expect, it } from 'vitest';
import { isTransient, Reason, reasonFor } from '../../../src/controller/reasons.js';
import { type ErrorCode, errorCodes } from '../../../src/migrator/errors/errors.js';

describe('reasonFor', () => {
  it('gives every error code a reason', () => {
    for (const code of Object.keys(errorCodes) as ErrorCode[]) {
      expect(Object.values(Reason)).toContain(reasonFor(code));
    }
  });

  it('gives StepLockTimeout, Cancelled, PermissionDenied and bugs reasons of their own', () => {
    expect(reasonFor('StepLockTimeout')).toBe(Reason.StepLockTimeout);
    expect(reasonFor('Cancelled')).toBe(Reason.Cancelled);
    expect(reasonFor('PermissionDenied')).toBe(Reason.PermissionDenied);
    expect(reasonFor('DatabaseError')).toBe(Reason.DatabaseError);
    expect(reasonFor('Unexpected')).toBe(Reason.InternalError);
  });

  it('retries what may pass by itself, and not a bug or a permission problem', () => {
    expect(isTransient(reasonFor('ConnectionFailed'))).toBe(true);
    expect(isTransient(reasonFor('StepLockTimeout'))).toBe(true);
    expect(isTransient(reasonFor('Unexpected'))).toBe(false);
    expect(isTransient(reasonFor('PermissionDenied'))).toBe(false);
    expect(isTransient(reasonFor('DatabaseError'))).toBe(false);
  });
});
