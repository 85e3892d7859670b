import { httpStatus } from './http-status.js';
import { redactValues, type SecretObject, secretValues } from './secret-policy.js';

/**
 * The one way text from users or remote systems (Secret values, spec strings, database
 * errors, a Job's log) reaches status, Events and logs: redacted, control characters
 * escaped, and bounded. A bound matters as much as redaction: the API server refuses a
 * status over its request limit, and a resource whose every status write fails has no
 * condition at all.
 */

/** A condition's or Event's message, a log field. */
export const messageLimit = 1024;
/** A multi-line excerpt: a Job's log tail. */
export const excerptLimit = 4096;
/** One step's SQL in status.plan. */
export const sqlLimit = 64 * 1024;

export interface ShownOptions {
  readonly limit?: number;
  /** Newlines and tabs kept (a log tail, SQL); otherwise every control character is escaped. */
  readonly multiline?: boolean;
  /** Which end survives the bound: the start of a message, the end of a log. */
  readonly keep?: 'head' | 'tail';
}

// A URL's user information, wherever a message or a log line prints one.
const urlCredentials = /(\b[a-z][a-z0-9+.-]*:\/\/)[^@\s/]+@/gi;
// C0 and C1 controls, DEL, and the line and paragraph separators.
const controls = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g;
const kept = new Set(['\n', '\t']);

function escapeControls(text: string, multiline: boolean): string {
  return text.replace(controls, (c) =>
    multiline && kept.has(c) ? c : `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

function bound(text: string, limit: number, keep: 'head' | 'tail'): string {
  if (text.length <= limit) return text;
  const note = ` [${text.length - limit} characters left out]`;
  const room = Math.max(0, limit - note.length - 1);
  return keep === 'head' ? `${text.slice(0, room)}…${note}` : `…${note} ${text.slice(text.length - room)}`;
}

export function shownText(
  text: string,
  secrets: readonly SecretObject[],
  options: ShownOptions = {},
): string {
  return shownWith(text, secretValues(secrets), options);
}

function shownWith(
  text: string,
  values: readonly string[],
  { limit = messageLimit, multiline = false, keep = 'head' }: ShownOptions,
): string {
  const redacted = redactValues(text, values).replace(urlCredentials, '$1***@');
  return bound(escapeControls(redacted, multiline), limit, keep);
}

const fieldOptions: Readonly<Record<string, ShownOptions>> = {
  sql: { limit: sqlLimit, multiline: true },
  logTail: { limit: excerptLimit, multiline: true, keep: 'tail' },
};

/** Every string in a status (or any JSON value), shown as shownText shows a message. */
export function shownFields<T>(value: T, secrets: readonly SecretObject[]): T {
  return fieldsWith(value, secretValues(secrets), '');
}

function fieldsWith<T>(value: T, values: readonly string[], field: string): T {
  if (typeof value === 'string') return shownWith(value, values, fieldOptions[field] ?? {}) as T;
  if (Array.isArray(value)) return value.map((v) => fieldsWith(v, values, field)) as T;
  if (value === null || typeof value !== 'object' || value instanceof Date) return value;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, fieldsWith(v, values, k)])) as T;
}

/** An error for a log line: its status or message, never a response body, shown as any message is. */
export function shownError(err: unknown): string {
  const status = httpStatus(err);
  const text = err instanceof Error ? err.message : String(err);
  return shownText(status !== undefined && !text.includes(String(status)) ? `${status}: ${text}` : text, []);
}
