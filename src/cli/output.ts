import type { RevisionGraph, RevisorError } from '../migrator/index.js';
export function print(text: string): void {
  process.stdout.write(`${text}\n`);
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

export function errorJson(err: RevisorError): Record<string, unknown> {
  return { code: err.code, exitCode: err.exitCode, message: err.message, details: err.details };
}

/** The error line on stderr; the exit status is the error's code. */
export function reportError(err: RevisorError): number {
  process.stderr.write(`revisor: error [${err.code}]: ${err.message}\n`);
  return err.exitCode;
}

/**
 * `c0b7d0e366e7 (billing) (head)` / `abc (head) (mergepoint)`, as Alembic labels revisions:
 * branch labels, then (head) for what nothing builds on, (effective head) for a revision
 * only others' depends_on name.
 */
export function label(graph: RevisionGraph, id: string): string {
  const m = graph.get(id);
  const tags: string[] = [];
  const labels = graph.labels(id);
  if (labels.length > 0) tags.push(`(${labels.join(', ')})`);
  if (graph.heads.includes(id)) tags.push('(head)');
  else if (graph.versionedHeads.includes(id)) tags.push('(effective head)');
  if (m.downRevisions.length === 0) tags.push('(base)');
  if (m.downRevisions.length > 1) tags.push('(mergepoint)');
  if (graph.children(id).length > 1) tags.push('(branchpoint)');
  return [id, ...tags].join(' ');
}

export const headsText = (heads: readonly string[]) => (heads.length ? heads.join(', ') : '<base>');
