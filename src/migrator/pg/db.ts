/** The narrow slice of a PostgreSQL session the migrator needs; pg.Client satisfies it. */
export interface Queryable {
  query<R extends Record<string, unknown> = Record<string, unknown>>(
    text: string,
    values?: readonly unknown[],
  ): Promise<{ rows: R[]; rowCount: number | null }>;
}

/** A PostgreSQL error as pg reports it (fields from the ErrorResponse message). */
export interface PgError extends Error {
  code?: string;
  position?: string;
  hint?: string;
  detail?: string;
  where?: string;
}

export const sqlState = {
  undefinedTable: '42P01',
  undefinedColumn: '42703',
  undefinedObject: '42704',
  lockNotAvailable: '55P03',
  queryCanceled: '57014',
  uniqueViolation: '23505',
  undefinedPreparedStatement: '26000',
  tooManyConnections: '53300',
} as const;

export function pgCode(err: unknown): string | undefined {
  const code = (err as PgError | undefined)?.code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}

export const sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
