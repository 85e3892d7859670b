export * from './authoring.js';
export { type ErrorCode, errorCodes, RevisorError } from './migrator/errors.js';
export { RevisionGraph } from './migrator/graph.js';
export { embeddedMigrationsDir, loadMigrations } from './migrator/loader.js';
export type { Migration } from './migrator/migration.js';
export { Migrator, type MigratorConfig, type RunResult, type StepResult } from './migrator/migrator.js';
export { Op } from './migrator/ops/op.js';
export { type Plan, plan, planDowngrade, planUpgrade, type Step } from './migrator/planner.js';
