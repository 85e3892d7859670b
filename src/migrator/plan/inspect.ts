import { type ChecksumDrift, checksumMismatchError, findChecksumDrift } from '../chain/checksum.js';
import type { RevisionGraph } from '../chain/graph.js';
import { isRevisorError, type RevisorError } from '../errors/errors.js';
import { assertKnownHeads, type Plan, planToward } from './planner.js';
import { resolveTarget, type Target } from './targets.js';

/**
 * Everything a run checks before it plans, as data: the database's heads against the
 * chain, the target resolved from them, applied revisions whose SQL changed since, and the
 * plan toward the target (up or down). The CLI's runs and the operator's reconcile read
 * the same facts; each decides what to do with them.
 */
export type Inspection =
  /** The database is at a revision this chain lacks. */
  | { readonly kind: 'unknown-heads'; readonly heads: readonly string[]; readonly error: RevisorError }
  /** The target does not resolve from these heads (unknown, ambiguous, several heads). */
  | { readonly kind: 'bad-target'; readonly heads: readonly string[]; readonly error: RevisorError }
  | {
      readonly kind: 'planned';
      readonly heads: readonly string[];
      readonly target: Target;
      /** Applied revisions whose upgrade SQL differs from what ran; `error` says so for a person. */
      readonly checksumDrift: readonly ChecksumDrift[];
      readonly checksumError: RevisorError | null;
      readonly plan: Plan;
    };

export function inspect(
  graph: RevisionGraph,
  heads: readonly string[],
  checksums: ReadonlyMap<string, string>,
  targetText: string,
): Inspection {
  const refused = (kind: 'unknown-heads' | 'bad-target', err: unknown): Inspection => {
    if (!isRevisorError(err)) throw err;
    return { kind, heads, error: err };
  };
  try {
    assertKnownHeads(graph, heads);
  } catch (err) {
    return refused('unknown-heads', err);
  }
  let target: Target;
  try {
    target = resolveTarget(graph, targetText, heads);
  } catch (err) {
    return refused('bad-target', err);
  }
  const checksumDrift = findChecksumDrift(graph, graph.ancestors(heads), checksums);
  return {
    kind: 'planned',
    heads,
    target,
    checksumDrift,
    checksumError: checksumDrift.length > 0 ? checksumMismatchError(checksumDrift) : null,
    plan: planToward(graph, heads, target),
  };
}
