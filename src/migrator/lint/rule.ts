import type { Node } from './tree.js';

export type LockMode = 'ACCESS EXCLUSIVE' | 'SHARE' | 'SHARE ROW EXCLUSIVE';

/**
 * What a statement makes PostgreSQL do to an existing table: the part of a finding that
 * depends on the table's size, so a database can say what it costs there, or that it is
 * harmless on a small or new table.
 */
export interface Cost {
  readonly table: string;
  /** rewrite: every row written again and every index rebuilt; scan: every row read; build: an index built. */
  readonly work: 'rewrite' | 'scan' | 'build';
  readonly lock: LockMode;
}

export interface Hit {
  readonly message: string;
  readonly cost?: Cost;
}

export interface StatementContext {
  /** Tables created earlier in this revision, or in the pending plan: rules about existing tables skip them. */
  readonly createdTables: ReadonlySet<string>;
  readonly transactional: boolean;
  /** Pre-deploy revisions run while the previous application version still serves traffic. */
  readonly phase: 'pre-deploy' | 'post-deploy';
  /** Tables this revision changes with DDL: a backfill of one holds the DDL's lock while it runs. */
  readonly alteredTables: ReadonlySet<string>;
  /** The statement as written: the parser has already truncated names longer than 63 bytes. */
  readonly text: string;
}

export interface RuleDefinition {
  readonly severity: 'error' | 'warning';
  /** A matter of taste: off unless the chain's lint config enables it. */
  readonly taste?: true;
  /** What the rule fires on. */
  readonly firesOn: string;
  /** Why that is dangerous. */
  readonly why: string;
  /** The safe rewrite. */
  readonly advice: string;
  /** The same check in other linters (squawk, strong_migrations), for the mapping in the docs. */
  readonly aka: readonly string[];
  check(stmt: Node, ctx: StatementContext): Hit[];
}

/** `public.x` and `x` name the same table for the "created here" exemption. */
export function isCreated(ctx: StatementContext, table: string): boolean {
  return ctx.createdTables.has(table) || ctx.createdTables.has(table.replace(/^public\./, ''));
}
