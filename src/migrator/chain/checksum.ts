import { createHash } from 'node:crypto';
import { RevisorError } from '../errors/errors.js';
import type { Statement } from '../ops/statement.js';
import type { RevisionGraph } from './graph.js';

/** sha256 of a SQL file's section text, as written. */
export function checksumText(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** sha256 of the statements and their parameters, as run. */
export function checksum(statements: readonly Statement[]): string {
  const hash = createHash('sha256');
  for (const s of statements) {
    hash.update(s.sql);
    hash.update('\0');
    if (s.params?.length) hash.update(JSON.stringify(s.params));
    hash.update('\n');
  }
  return hash.digest('hex');
}

export interface ChecksumDrift {
  readonly revision: string;
  readonly recorded: string;
  readonly current: string;
}

/** Applied revisions whose upgrade SQL is no longer what was recorded when it ran. */
export function findChecksumDrift(
  graph: RevisionGraph,
  applied: Iterable<string>,
  recorded: ReadonlyMap<string, string>,
): ChecksumDrift[] {
  const drift: ChecksumDrift[] = [];
  for (const revision of applied) {
    const was = recorded.get(revision);
    if (was === undefined || !graph.has(revision)) continue;
    const now = graph.get(revision).checksum('upgrade');
    if (now !== was) drift.push({ revision, recorded: was, current: now });
  }
  return drift.sort((a, b) => a.revision.localeCompare(b.revision));
}

export function checksumMismatchError(drift: readonly ChecksumDrift[]): RevisorError {
  const list = drift.map(
    (d) => `${d.revision} (recorded ${d.recorded.slice(0, 12)}, now ${d.current.slice(0, 12)})`,
  );
  return new RevisorError(
    'ChecksumMismatch',
    `applied migration(s) changed since they ran: ${list.join(', ')}; restore the original files and add a new ` +
      'revision for the change, or pass --allow-checksum-mismatch if the edit is known to be harmless',
    { revisions: drift.map((d) => d.revision) },
  );
}
