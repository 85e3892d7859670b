/** The HTTP status of a failed API request, as @kubernetes/client-node reports it. */
export const httpStatus = (err: unknown): number | undefined => {
  const status = (err as { code?: unknown }).code ?? (err as { statusCode?: unknown }).statusCode;
  return typeof status === 'number' ? status : undefined;
};
