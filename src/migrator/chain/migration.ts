import type { Op } from '../ops/op.js';
import type { Statement } from '../ops/statement.js';
import type { Phase } from './phase.js';

/** What a TypeScript migration module exports (through {@link defineMigration}). */
export interface MigrationDefinition {
  revision: string;
  downRevision: string | readonly string[] | null;
  /** Names for the branch this revision starts (Alembic's branch_labels): targets `label@head`, … */
  branchLabels?: string | readonly string[];
  /** Revisions or branch labels that must be applied first, without being down revisions (Alembic's depends_on). */
  dependsOn?: string | readonly string[];
  message: string;
  createDate?: string;
  /** false: the statements run outside a transaction (e.g. CREATE INDEX CONCURRENTLY). */
  transactional?: boolean;
  /**
   * When in a deploy it runs: pre-deploy (default) before the new application version
   * starts, post-deploy once the rollout is complete (the contract step of expand/contract).
   */
  phase?: Phase;
  /**
   * false: destructive ops (dropTable, dropColumn, a type change) do not stash what they
   * destroy, and downgrades restore nothing (default true).
   */
  stash?: boolean;
  /** Lint rules this revision knowingly breaks, each with the reason (revisor lint). */
  lintWaivers?: Readonly<Record<string, string>>;
  upgrade(op: Op): void;
  downgrade(op: Op): void;
}

export function defineMigration(definition: MigrationDefinition): MigrationDefinition {
  return definition;
}

/** A loaded revision: graph data plus the statements each direction renders. */
export interface Migration {
  readonly revision: string;
  readonly downRevisions: readonly string[];
  /** The labels this revision declares (the graph works out the labels it inherits). */
  readonly branchLabels: readonly string[];
  /** depends_on as written: revision ids or branch labels, resolved by the graph. */
  readonly dependsOn: readonly string[];
  readonly message: string;
  readonly createDate: string | null;
  readonly transactional: boolean;
  readonly phase: Phase;
  /** Waived lint rule → the written reason. */
  readonly lintWaivers: Readonly<Record<string, string>>;
  /** Where it came from, for error messages: a path, or `<embedded>/name`. */
  readonly source: string;
  /** The module a TypeScript/JavaScript revision was imported from: its op calls' stack frames name it. */
  readonly modulePath?: string;
  /** Rendered lazily: only the steps that run (and checksum checks) need the SQL. */
  upgrade(): readonly Statement[];
  downgrade(): readonly Statement[];
  /** True when the downgrade renders at least one statement. */
  hasDowngrade(): boolean;
  /**
   * sha256 of what a direction runs, recorded in the history table and compared on later
   * upgrades: the rendered statements of a module, the section text of a SQL file (so
   * checking an applied chain does not have to split every file).
   */
  checksum(direction: 'upgrade' | 'downgrade'): string;
}
