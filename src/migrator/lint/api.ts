/** The lint room's public face, loaded on use (the facade's loadLint) so a no-op run never parses it. */
export { defaultLintConfig, type LintConfig, lintConfigFile, lintConfigFrom } from './config.js';
export { approximate, bytesText, defaultThresholds, type Thresholds } from './judge.js';
export { type Finding, lintGraph, lintMigrations } from './lint.js';
export type { Cost, RuleDefinition } from './rule.js';
export { defaultRules, type RuleName, ruleNames, rules } from './rules/index.js';
