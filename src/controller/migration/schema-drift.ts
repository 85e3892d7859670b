import { classify, type Migrator, type SchemaDrift, type SchemaDriftReading } from '../../migrator/index.js';
import type { Drift } from '../conditions.js';
import type { Lru } from '../lru.js';
import { Reason } from '../reasons.js';

/** How many differences a message names; the rest are counted. */
const shown = 5;

/** The Drifted condition for a schema that changed outside the migrations; null when it did not. */
export function schemaDriftCondition(found: SchemaDrift | null): Drift | null {
  if (!found) return null;
  const { recorded, differences } = found;
  if (!recorded || differences.length === 0) return null;
  const more = differences.length > shown ? `; and ${differences.length - shown} more` : '';
  return {
    reason: Reason.SchemaDrift,
    message:
      `the schema changed outside the migrations since ${recorded.revision} was applied ` +
      `(${differences.length} difference(s): ${differences.slice(0, shown).join('; ')}${more}); ` +
      'put the change in a migration (revisor revision --autogenerate), or undo it',
  };
}

/**
 * The database's schema drift (the previous reading when nothing changed since), or null
 * when it cannot be read: drift is a report, and failing to read it must not stop the
 * migrations it does not block.
 */
export async function readSchemaDrift(
  migrator: Migrator,
  onError: (message: string) => void,
  previous: SchemaDriftReading | undefined,
): Promise<SchemaDriftReading | null> {
  try {
    return await migrator.schemaDrift(previous);
  } catch (err) {
    onError(classify(err).message);
    return null;
  }
}

/** A resource's last schema drift reading and when it was taken. */
export interface DriftCheck {
  readonly reading: SchemaDriftReading;
  readonly readAt: number;
}

/**
 * A schema changed by hand since the last apply. A resync with nothing to do compares at
 * most every drift.intervalSeconds (the catalog stamp makes a comparison cheap, but not
 * free); `force` (a new generation, a plan with steps) always compares.
 */
export async function observeSchemaDrift(input: {
  readonly migrator: Migrator;
  readonly readings: Lru<DriftCheck>;
  readonly key: string;
  readonly nowMs: number;
  readonly intervalMs: number;
  readonly force: boolean;
  readonly onUnreadable: (message: string) => void;
}): Promise<SchemaDriftReading | null> {
  const last = input.readings.get(input.key);
  if (last && !input.force && input.nowMs - last.readAt < input.intervalMs) return last.reading;
  const found = await readSchemaDrift(input.migrator, input.onUnreadable, last?.reading);
  if (found) input.readings.set(input.key, { reading: found, readAt: input.nowMs });
  return found;
}
