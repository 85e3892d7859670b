/**
 * The diff engine's surface for the commands that use it (autogenerate, diff, drift, check
 * --schema), loaded on demand through the facade's schemaTools(): the no-op upgrade, which
 * every init container runs, never parses it.
 */
export { catalogDifferences, emptyCatalog, lineDifferences } from './catalog.js';
export { changeCode, changeStatements, usedHelpers } from './changes.js';
export { diff } from './diff.js';
export { readCatalog } from './read-catalog.js';
export { findSchemaDrift, fingerprint } from './record.js';
export { parseRenames } from './renames.js';
