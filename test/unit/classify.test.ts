import { describe, expect, it } from 'vitest';
import { classify } from '../../src/migrator/errors/classify.js';
import { ConnectionLostError, errorCodes, RevisorError } from '../../src/migrator/errors/errors.js';

const pgError = (code: string, message = 'boom') => Object.assign(new Error(message), { code });

describe('classify', () => {
  it.each([
    ['08006', 'ConnectionFailed'],
    ['57P01', 'ConnectionFailed'],
    ['57P02', 'ConnectionFailed'],
    ['57P03', 'ConnectionFailed'],
    ['28P01', 'ConnectionFailed'],
    ['42501', 'PermissionDenied'],
    ['42P07', 'DatabaseError'],
    ['22023', 'DatabaseError'],
  ])('SQLSTATE %s is %s', (code, expected) => {
    const error = classify(pgError(code));
    expect(error.code).toBe(expected);
    expect(error.message).toContain(`SQLSTATE ${code}`);
  });

  it('a lost transport is ConnectionFailed, by type rather than message', () => {
    expect(classify(new ConnectionLostError('gone', new Error('x'))).code).toBe('ConnectionFailed');
    const reset = Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET', syscall: 'read' });
    expect(classify(reset).code).toBe('ConnectionFailed');
    // The same words without the type are not trusted.
    expect(classify(new Error('Connection terminated unexpectedly')).code).toBe('Unexpected');
  });

  it('a programming error is Unexpected, exit 1, never ConnectionFailed', () => {
    const error = classify(new RangeError('Maximum call stack size exceeded'));
    expect(error.code).toBe('Unexpected');
    expect(error.exitCode).toBe(1);
    expect(error.message).toContain('a bug in revisor');
  });

  it('a RevisorError passes through unchanged', () => {
    const original = new RevisorError('LockTimeout', 'held');
    expect(classify(original)).toBe(original);
  });

  it('exit codes are distinct', () => {
    const exits = Object.values(errorCodes);
    expect(new Set(exits).size).toBe(exits.length);
  });
});
