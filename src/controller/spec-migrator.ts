import {
  type ConnectionOptions,
  Migrator,
  type MigratorEvents,
  type RevisionGraph,
  sessionFactory,
} from '../migrator/index.js';
import { type Spec, tablesOf } from './resource.js';

/** The migrator a DatabaseMigration's spec asks for. */
export function migratorForSpec(
  spec: Spec,
  connection: ConnectionOptions,
  graph: RevisionGraph,
  events: MigratorEvents,
  context: { executedBy: string; signal?: AbortSignal },
): Migrator {
  return new Migrator({
    graph,
    connect: sessionFactory(connection),
    tables: tablesOf(spec.versionTable),
    executedBy: context.executedBy,
    lockWaitMs: spec.lockWaitSeconds * 1000,
    lockLeaseMs: 60_000,
    connectTimeoutMs: connection.connectTimeoutMs,
    lockTimeoutMs: spec.lockTimeoutMs,
    lockRetries: 4,
    lockRetryPauseMs: 1000,
    statementTimeoutMs: spec.statementTimeoutSeconds * 1000,
    transactionMode: spec.transactionMode,
    allowChecksumMismatch: false,
    ...(context.signal ? { signal: context.signal } : {}),
    events,
  });
}
