import { RevisionGraph } from '../../src/migrator/chain/graph.js';
import { loadMigrations } from '../../src/migrator/chain/loader.js';
import { sessionFactory } from '../../src/migrator/pg/pg-session.js';
import { Migrator, type MigratorConfig } from '../../src/migrator/run/migrator.js';
import { defaultTables } from '../../src/migrator/sql/bookkeeping.js';

/** An in-process Migrator on `url` and a migrations directory, with fast test settings. */
export async function migratorFor(
  url: string,
  dir: string,
  overrides: Partial<MigratorConfig> = {},
): Promise<Migrator> {
  return new Migrator({
    graph: RevisionGraph.build(await loadMigrations(dir)),
    connect: sessionFactory({ url, applicationName: 'revisor test', connectTimeoutMs: 5000 }),
    tables: defaultTables,
    executedBy: 'test',
    lockWaitMs: 10_000,
    lockLeaseMs: 60_000,
    connectTimeoutMs: 5_000,
    lockTimeoutMs: 5_000,
    lockRetries: 2,
    lockRetryPauseMs: 50,
    statementTimeoutMs: 0,
    transactionMode: 'per-migration',
    allowChecksumMismatch: false,
    ...overrides,
  });
}
