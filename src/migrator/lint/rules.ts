/**
 * Lint rules over PostgreSQL parse trees (libpg-query's JSON). Each rule is a pure
 * function with a stable name, so a revision can waive it with a written reason.
 */
export type Node = Record<string, unknown>;

export interface StatementContext {
  /** Tables this revision creates: the rules about existing tables do not apply to them. */
  readonly createdTables: ReadonlySet<string>;
  readonly transactional: boolean;
  /** Pre-deploy revisions run while the previous application version still serves traffic. */
  readonly phase: 'pre-deploy' | 'post-deploy';
}

export interface RuleHit {
  readonly rule: RuleName;
  readonly message: string;
}

export const rules = {
  'create-index-non-concurrent': 'CREATE INDEX CONCURRENTLY in a migration with transactional: false',
  'add-column-not-null-no-default':
    'add the column nullable (or with a DEFAULT), backfill, then SET NOT NULL',
  'add-foreign-key-validated': 'add it NOT VALID, then VALIDATE CONSTRAINT in a later migration',
  'add-check-validated': 'add it NOT VALID, then VALIDATE CONSTRAINT in a later migration',
  'alter-column-type': 'add a new column, backfill, switch readers, then drop the old one',
  'rename-table': 'create the new name as a view or copy, move readers, then drop the old name',
  'rename-column': 'add the new column, write both, move readers, then drop the old one',
  'drop-table': 'stop using the table in a release first, then drop it; downgrades cannot restore its data',
  'drop-column':
    'stop reading the column in a release first, then drop it; downgrades cannot restore its data',
  'concurrently-in-transaction':
    'mark the migration transactional: false; PostgreSQL refuses CONCURRENTLY in a transaction',
  'breaking-change-before-deploy':
    'move it to a revision with phase: post-deploy, which runs once the new application version is rolled out',
} as const;

export type RuleName = keyof typeof rules;

const child = (node: unknown, key: string): Node | undefined =>
  (node as Node | undefined)?.[key] as Node | undefined;

function tableName(relation: unknown): string {
  const r = relation as { schemaname?: string; relname?: string } | undefined;
  return r?.schemaname ? `${r.schemaname}.${r.relname}` : (r?.relname ?? '?');
}

/** `public.x` and `x` name the same table for the "created in this revision" exemption. */
export function isCreatedHere(ctx: StatementContext, table: string): boolean {
  return ctx.createdTables.has(table) || ctx.createdTables.has(table.replace(/^public\./, ''));
}

/** Names of the tables a statement creates (CREATE TABLE, CREATE TABLE AS). */
export function createdTable(stmt: Node): string | null {
  const create = child(stmt, 'CreateStmt') ?? child(child(stmt, 'CreateTableAsStmt'), 'into');
  return create ? tableName(create['relation'] ?? create['rel']) : null;
}

function constraintHits(table: string, constraint: Node, ctx: StatementContext): RuleHit[] {
  if (isCreatedHere(ctx, table)) return [];
  if (constraint['contype'] === 'CONSTR_FOREIGN' && !constraint['skip_validation']) {
    return [
      {
        rule: 'add-foreign-key-validated',
        message: `foreign key on existing table ${table} validates every row under lock`,
      },
    ];
  }
  if (constraint['contype'] === 'CONSTR_CHECK' && !constraint['skip_validation']) {
    return [
      {
        rule: 'add-check-validated',
        message: `check constraint on existing table ${table} scans every row under lock`,
      },
    ];
  }
  return [];
}

function alterTableHits(stmt: Node, ctx: StatementContext): RuleHit[] {
  const table = tableName(stmt['relation']);
  const hits: RuleHit[] = [];
  for (const item of (stmt['cmds'] as Node[] | undefined) ?? []) {
    const cmd = child(item, 'AlterTableCmd');
    if (!cmd) continue;
    const subtype = cmd['subtype'];
    if (subtype === 'AT_AddColumn') {
      const def = child(cmd['def'], 'ColumnDef');
      const constraints = ((def?.['constraints'] as Node[] | undefined) ?? []).map(
        (c) => child(c, 'Constraint') ?? {},
      );
      const notNull = constraints.some(
        (c) => c['contype'] === 'CONSTR_NOTNULL' || c['contype'] === 'CONSTR_PRIMARY',
      );
      const hasDefault = constraints.some(
        (c) => c['contype'] === 'CONSTR_DEFAULT' || c['contype'] === 'CONSTR_IDENTITY',
      );
      if (notNull && !hasDefault && !isCreatedHere(ctx, table)) {
        hits.push({
          rule: 'add-column-not-null-no-default',
          message: `NOT NULL column ${String(def?.['colname'])} without a default fails on, or rewrites, existing rows of ${table}`,
        });
      }
      for (const c of constraints) hits.push(...constraintHits(table, c, ctx));
    } else if (subtype === 'AT_AddConstraint') {
      hits.push(...constraintHits(table, child(cmd['def'], 'Constraint') ?? {}, ctx));
    } else if (subtype === 'AT_AlterColumnType' && !isCreatedHere(ctx, table)) {
      hits.push({
        rule: 'alter-column-type',
        message: `changing the type of ${table}.${String(cmd['name'])} rewrites the table under an ACCESS EXCLUSIVE lock`,
      });
    } else if (subtype === 'AT_DropColumn') {
      hits.push({
        rule: 'drop-column',
        message: `drops column ${table}.${String(cmd['name'])} in an upgrade`,
      });
    }
  }
  return hits;
}

/**
 * What breaks the application version still running during a rolling deploy: it reads a
 * column or table that is dropped or renamed, writes rows that a new NOT NULL refuses, or
 * relies on a default that goes away; a type change can narrow what it writes.
 */
function breakingHits(stmt: Node, ctx: StatementContext): RuleHit[] {
  const breaking = (what: string): RuleHit => ({
    rule: 'breaking-change-before-deploy',
    message: `${what} in a pre-deploy revision breaks the application version still running`,
  });
  const drop = child(stmt, 'DropStmt');
  if (drop && drop['removeType'] === 'OBJECT_TABLE') return [breaking('dropping a table')];
  const rename = child(stmt, 'RenameStmt');
  if (rename && (rename['renameType'] === 'OBJECT_TABLE' || rename['renameType'] === 'OBJECT_COLUMN')) {
    return [
      breaking(
        `renaming ${tableName(rename['relation'])}${rename['subname'] ? `.${String(rename['subname'])}` : ''}`,
      ),
    ];
  }
  const alter = child(stmt, 'AlterTableStmt');
  if (!alter) return [];
  const table = tableName(alter['relation']);
  if (isCreatedHere(ctx, table)) return [];
  const hits: RuleHit[] = [];
  for (const item of (alter['cmds'] as Node[] | undefined) ?? []) {
    const cmd = child(item, 'AlterTableCmd');
    const column = `${table}.${String(cmd?.['name'])}`;
    switch (cmd?.['subtype']) {
      case 'AT_DropColumn':
        hits.push(breaking(`dropping column ${column}`));
        break;
      case 'AT_SetNotNull':
        hits.push(breaking(`SET NOT NULL on ${column}`));
        break;
      case 'AT_AlterColumnType':
        hits.push(breaking(`changing the type of ${column}`));
        break;
      case 'AT_ColumnDefault':
        if (!cmd['def']) hits.push(breaking(`dropping the default of ${column}`));
        break;
    }
  }
  return hits;
}

/** Every rule's hits on one parsed statement of a revision's upgrade. */
export function checkStatement(stmt: Node, ctx: StatementContext): RuleHit[] {
  return [...statementHits(stmt, ctx), ...(ctx.phase === 'pre-deploy' ? breakingHits(stmt, ctx) : [])];
}

function statementHits(stmt: Node, ctx: StatementContext): RuleHit[] {
  const index = child(stmt, 'IndexStmt');
  if (index) {
    const table = tableName(index['relation']);
    if (index['concurrent'] && ctx.transactional) {
      return [
        {
          rule: 'concurrently-in-transaction',
          message: `CREATE INDEX CONCURRENTLY on ${table} inside a transaction`,
        },
      ];
    }
    if (!index['concurrent'] && !isCreatedHere(ctx, table)) {
      return [
        {
          rule: 'create-index-non-concurrent',
          message: `CREATE INDEX on existing table ${table} blocks its writes while it builds`,
        },
      ];
    }
    return [];
  }
  const alter = child(stmt, 'AlterTableStmt');
  if (alter) return alterTableHits(alter, ctx);
  const rename = child(stmt, 'RenameStmt');
  if (rename) {
    const table = tableName(rename['relation']);
    if (rename['renameType'] === 'OBJECT_TABLE') {
      return [
        { rule: 'rename-table', message: `renames table ${table}: running code still uses the old name` },
      ];
    }
    if (rename['renameType'] === 'OBJECT_COLUMN') {
      return [
        {
          rule: 'rename-column',
          message: `renames column ${table}.${String(rename['subname'])}: running code still uses the old name`,
        },
      ];
    }
    return [];
  }
  const drop = child(stmt, 'DropStmt');
  if (drop && drop['removeType'] === 'OBJECT_TABLE') {
    return [{ rule: 'drop-table', message: 'drops a table in an upgrade' }];
  }
  if (drop && drop['removeType'] === 'OBJECT_INDEX' && drop['concurrent'] && ctx.transactional) {
    return [{ rule: 'concurrently-in-transaction', message: 'DROP INDEX CONCURRENTLY inside a transaction' }];
  }
  return [];
}
