/**
 * What a migration module imports: the op API and its helpers, nothing that touches a
 * database, so loading a chain stays cheap.
 */
export { defineMigration, type MigrationDefinition } from './migrator/chain/migration.js';
export { check, column, foreignKey, primaryKey, unique } from './migrator/ops/elements.js';
export type { Op } from './migrator/ops/op.js';
export { sql } from './migrator/ops/statement.js';
export { type ColumnType, sa } from './migrator/ops/types.js';
