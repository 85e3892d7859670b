/**
 * A request to the Kubernetes API server that did not succeed: refused, reset, timed out,
 * or answered with an error status. It is never a database error: the reconciler hands it
 * back to the work queue, which retries with backoff, and nothing is written to status
 * about it (status is on the API server that just failed).
 */
export class ApiServerError extends Error {
  /** The HTTP status, when the API server answered at all. */
  readonly status: number | undefined;

  constructor(what: string, cause: unknown) {
    const status = statusOf(cause);
    const detail =
      status !== undefined
        ? `the API server answered ${status}`
        : `the API server could not be reached (${transportCode(cause)})`;
    super(`${what}: ${detail}`, { cause });
    this.name = 'ApiServerError';
    this.status = status;
  }
}

function statusOf(err: unknown): number | undefined {
  if (err instanceof ApiServerError) return err.status;
  const status = (err as { code?: unknown }).code ?? (err as { statusCode?: unknown }).statusCode;
  return typeof status === 'number' ? status : undefined;
}

/** ECONNREFUSED, ETIMEDOUT, AbortError, …: what the transport says, never a body or a URL. */
function transportCode(err: unknown): string {
  const e = err as { code?: unknown; name?: unknown; type?: unknown };
  for (const candidate of [e.code, e.type, e.name]) {
    if (typeof candidate === 'string' && /^[\w-]{1,40}$/.test(candidate)) return candidate;
  }
  return 'error';
}

/** The HTTP status of a failed API request (an ApiServerError, or the answer it wraps). */
export const httpStatus = (err: unknown): number | undefined =>
  err === null || typeof err !== 'object' ? undefined : statusOf(err);

export const isApiServerError = (err: unknown): err is ApiServerError => err instanceof ApiServerError;

/** The message of the API server's Status answer (why it refused a request), if it sent one. */
export function apiServerMessage(err: unknown): string | undefined {
  const cause = err instanceof ApiServerError ? err.cause : err;
  const body = (cause as { body?: unknown } | null)?.body;
  if (typeof body !== 'string') return undefined;
  try {
    const message = (JSON.parse(body) as { message?: unknown }).message;
    return typeof message === 'string' ? message : undefined;
  } catch {
    return undefined;
  }
}
