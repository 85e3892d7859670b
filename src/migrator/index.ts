/**
 * The migrator's one public face: src/cli and src/controller import from here only
 * (biome's noRestrictedImports enforces it), so the folders behind it can change.
 */
export { RevisionGraph } from './chain/graph.js';
export {
  chainIndexFile,
  chainIndexProblems,
  indexedHeads,
  refreshChainIndex,
  writeChainIndex,
} from './chain/index-file.js';
export { loadMigrations } from './chain/loader.js';
export type { Migration } from './chain/migration.js';
export { type Phase, phases } from './chain/phase.js';
export { parseSqlMigration, renderSqlMigration } from './chain/sql-file.js';
export { type CheckIssue, staircase, staticChecks } from './check/staircase.js';
export { runDefaults } from './defaults.js';
export { embeddedMigrationsDir } from './embedded-chain.js';
export { classify } from './errors/classify.js';
export {
  type ErrorCode,
  errorCodeOfExit,
  errorCodes,
  isRevisorError,
  RevisorError,
} from './errors/errors.js';
export type { ImportResult } from './import/import-alembic.js';
export type { Finding, LintConfig, RuleDefinition, RuleName } from './lint/api.js';
export { type FailOn, failsAt, isSettled } from './lint/settled.js';
export type { Inspection } from './plan/inspect.js';
/** Lint, loaded on use: its rules and PostgreSQL's parser stay off the no-op path. */
export const loadLint = () => import('./lint/api.js');
export { ident, inline } from './ops/statement.js';
export {
  type BlockedStep,
  type Blocker,
  type BlockerAction,
  blockerEndedMessage,
  describeBlocked,
} from './pg/blockers.js';
export {
  type ConnectionOptions,
  executedBy,
  hasConnectionConfig,
  hasPassword,
  libpqEnv,
} from './pg/connection.js';
export { type HistoryRow, readHistory } from './pg/history.js';
export { describeHolder } from './pg/lock.js';
export { type DatabaseObservation, observeDatabase } from './pg/observe.js';
export { sessionFactory } from './pg/pg-session.js';
export { SessionPool, type SessionPoolOptions } from './pg/session-pool.js';
export { dropStashOf, listStashEntries, type StashEntry } from './pg/stash-admin.js';
export { readHeads } from './pg/state.js';
export { type PhasedPlan, planForPhase } from './plan/phases.js';
export { isDestructive, planHash } from './plan/plan-hash.js';
export { type Plan, plan, type Step } from './plan/planner.js';
export { resolveRevision, resolveTarget } from './plan/targets.js';
export type { Direction } from './plan/version-rows.js';
export type { BackupSettings } from './run/backup.js';
export { Migrator, type MigratorEvents, type RunResult, type Session } from './run/migrator.js';
export type { Catalog } from './schema/catalog.js';
export type { Change } from './schema/changes.js';
export type { SchemaDrift, SchemaDriftReading } from './schema/record.js';
export type { Renames } from './schema/renames.js';
export { applySchemaFile, schemaFileStatements } from './schema/schema-file.js';

/** The diff engine, loaded when a command needs it (see schema/tools.ts). */
export const schemaTools = () => import('./schema/tools.js');

/** `revisor import alembic`, loaded when it runs. */
export async function importAlembic(
  ...args: Parameters<typeof import('./import/import-alembic.js').importAlembic>
): Promise<import('./import/import-alembic.js').ImportResult> {
  return (await import('./import/import-alembic.js')).importAlembic(...args);
}
export { defaultTables, type Tables, tableProblems } from './sql/bookkeeping.js';
export { renderPlan, renderStatements, renderStep } from './sql/render.js';
