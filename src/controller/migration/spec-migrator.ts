import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type BackupSettings,
  type ConnectionOptions,
  libpqEnv,
  Migrator,
  type MigratorEvents,
  type RevisionGraph,
  RevisorError,
  runDefaults,
  type SessionPool,
  sessionFactory,
} from '../../migrator/index.js';
import { type Spec, tablesOf } from '../resource.js';

/**
 * spec.backup: dumps go to the resource's directory on the operator's backup volume,
 * through pg_dump with the resource's own connection (a CA from caSecretRef is written to
 * a file pg_dump can read, under /tmp).
 */
function backupSettings(connection: ConnectionOptions, backupDir: string | null): BackupSettings {
  if (!backupDir) {
    throw new RevisorError(
      'Usage',
      'spec.backup.enabled needs the operator to have a backup volume: install the chart with operator.backup.persistentVolumeClaim set',
    );
  }
  const env = libpqEnv(connection);
  if (connection.tls) {
    env['PGSSLMODE'] = connection.tls.mode;
    if (connection.tls.ca) {
      const caFile = join(
        tmpdir(),
        `revisor-ca-${createHash('sha256').update(connection.tls.ca).digest('hex').slice(0, 16)}.pem`,
      );
      writeFileSync(caFile, connection.tls.ca, { mode: 0o600 });
      env['PGSSLROOTCERT'] = caFile;
    }
  }
  return { dir: backupDir, pgDump: 'pg_dump', env };
}

/** The migrator a DatabaseMigration's spec asks for. */
export function migratorForSpec(
  spec: Spec,
  connection: ConnectionOptions,
  graph: RevisionGraph,
  events: MigratorEvents,
  context: {
    executedBy: string;
    signal?: AbortSignal;
    backupDir?: string | null;
    /** Where sessions come from: the controller's pool, or new ones. */
    sessions?: SessionPool;
  },
): Migrator {
  const backup = spec.backup.enabled ? backupSettings(connection, context.backupDir ?? null) : undefined;
  return new Migrator({
    graph,
    connect: context.sessions ? context.sessions.factory(connection) : sessionFactory(connection),
    tables: tablesOf(spec.versionTable),
    executedBy: context.executedBy,
    lockWaitMs: spec.lockWaitSeconds * 1000,
    lockLeaseMs: runDefaults.lockLeaseMs,
    connectTimeoutMs: connection.connectTimeoutMs,
    lockTimeoutMs: spec.lockTimeoutMs,
    lockRetries: runDefaults.lockRetries,
    lockRetryPauseMs: runDefaults.lockRetryPauseMs,
    statementTimeoutMs: spec.statementTimeoutSeconds * 1000,
    blockers: {
      reportAfterMs: spec.blockers.reportAfterSeconds * 1000,
      cancelAfterMs: spec.blockers.cancelAfterSeconds ? spec.blockers.cancelAfterSeconds * 1000 : null,
      terminate: spec.blockers.terminate,
    },
    transactionMode: spec.transactionMode,
    allowChecksumMismatch: false,
    ...(backup ? { backup } : {}),
    ...(context.signal ? { signal: context.signal } : {}),
    applicationName: connection.applicationName,
    // The periodic drift check starts from the reading the run leaves (in-process.ts).
    driftReadingAfterRun: true,
    events,
  });
}
