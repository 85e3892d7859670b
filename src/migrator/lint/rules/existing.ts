/** What the lock and rewrite rules share: the ALTER TABLE commands on tables that already exist. */
import { isCreated, type StatementContext } from '../rule.js';
import { alterCommands, child, constraintsOf, type Node, tableName } from '../tree.js';

/** Functions whose value differs per row, so a column default calling one is written into every row. */
export const volatileFunctions = new Set([
  'random',
  'gen_random_uuid',
  'uuid_generate_v1',
  'uuid_generate_v4',
  'uuidv4',
  'uuidv7',
  'clock_timestamp',
  'timeofday',
  'nextval',
  'txid_current',
  'pg_current_xact_id',
]);

/** The ALTER TABLE commands of `stmt` on an existing table, with its name. */
export function existingAlters(stmt: Node, ctx: StatementContext): { table: string; cmd: Node }[] {
  const alter = child(stmt, 'AlterTableStmt');
  if (!alter) return [];
  const table = tableName(alter['relation']);
  if (isCreated(ctx, table)) return [];
  return alterCommands(alter).map((cmd) => ({ table, cmd }));
}

/** Constraints an ALTER TABLE adds, on its own or with a new column. */
export function addedConstraints(stmt: Node, ctx: StatementContext): { table: string; constraint: Node }[] {
  return existingAlters(stmt, ctx).flatMap(({ table, cmd }) => {
    if (cmd['subtype'] === 'AT_AddConstraint')
      return [{ table, constraint: child(cmd['def'], 'Constraint') ?? {} }];
    if (cmd['subtype'] === 'AT_AddColumn')
      return constraintsOf(child(cmd['def'], 'ColumnDef')).map((constraint) => ({ table, constraint }));
    return [];
  });
}

export function addedColumns(stmt: Node, ctx: StatementContext): { table: string; column: Node }[] {
  return existingAlters(stmt, ctx)
    .filter(({ cmd }) => cmd['subtype'] === 'AT_AddColumn')
    .map(({ table, cmd }) => ({ table, column: child(cmd['def'], 'ColumnDef') ?? {} }));
}
