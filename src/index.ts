export * from './authoring.js';
export { RevisionGraph } from './migrator/chain/graph.js';
export { loadMigrations } from './migrator/chain/loader.js';
export type { Migration } from './migrator/chain/migration.js';
export { embeddedMigrationsDir } from './migrator/embedded-chain.js';
export { type ErrorCode, errorCodes, RevisorError } from './migrator/errors/errors.js';
export { Op } from './migrator/ops/op.js';
export { type Plan, plan, planDowngrade, planUpgrade, type Step } from './migrator/plan/planner.js';
export { Migrator, type MigratorConfig, type RunResult, type StepResult } from './migrator/run/migrator.js';
