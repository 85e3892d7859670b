import { isCreated, type RuleDefinition } from '../rule.js';
import { alterCommands, child, constraintsOf, dotted, type Node, tableName } from '../tree.js';

/** Rules about what breaks the application, loses data, or cannot be undone. */

function renameOf(stmt: Node): Node | undefined {
  return child(stmt, 'RenameStmt');
}

/**
 * What breaks the application version still running during a rolling deploy: it reads a
 * column or table that is dropped or renamed, writes rows that a new NOT NULL refuses, or
 * relies on a default that goes away; a type change can narrow what it writes.
 */
function breakingChanges(stmt: Node, createdTables: (table: string) => boolean): string[] {
  const drop = child(stmt, 'DropStmt');
  if (drop?.['removeType'] === 'OBJECT_TABLE') return ['dropping a table'];
  const rename = renameOf(stmt);
  if (rename && (rename['renameType'] === 'OBJECT_TABLE' || rename['renameType'] === 'OBJECT_COLUMN'))
    return [
      `renaming ${tableName(rename['relation'])}${rename['subname'] ? `.${String(rename['subname'])}` : ''}`,
    ];
  const alter = child(stmt, 'AlterTableStmt');
  if (!alter) return [];
  const table = tableName(alter['relation']);
  if (createdTables(table)) return [];
  return alterCommands(alter).flatMap((cmd) => {
    const column = `${table}.${String(cmd['name'])}`;
    switch (cmd['subtype']) {
      case 'AT_DropColumn':
        return [`dropping column ${column}`];
      case 'AT_SetNotNull':
        return [`SET NOT NULL on ${column}`];
      case 'AT_AlterColumnType':
        return [`changing the type of ${column}`];
      case 'AT_ColumnDefault':
        return cmd['def'] ? [] : [`dropping the default of ${column}`];
      default:
        return [];
    }
  });
}

export const breakingRules = {
  'add-column-not-null-no-default': {
    severity: 'error',
    firesOn: 'ADD COLUMN … NOT NULL (or PRIMARY KEY) without a DEFAULT on an existing table',
    why: 'it fails on a table with rows, and inserts by the running application version fail after it',
    advice: 'add the column nullable (or with a DEFAULT), backfill, then SET NOT NULL',
    aka: ['squawk adding-required-field', 'squawk adding-not-nullable-field'],
    check(stmt, ctx) {
      const alter = child(stmt, 'AlterTableStmt');
      if (!alter) return [];
      const table = tableName(alter['relation']);
      if (isCreated(ctx, table)) return [];
      return alterCommands(alter)
        .filter((cmd) => cmd['subtype'] === 'AT_AddColumn')
        .map((cmd) => child(cmd['def'], 'ColumnDef') ?? {})
        .filter((column) => {
          const constraints = constraintsOf(column);
          const required = constraints.some(
            (c) => c['contype'] === 'CONSTR_NOTNULL' || c['contype'] === 'CONSTR_PRIMARY',
          );
          const filled = constraints.some(
            (c) =>
              c['contype'] === 'CONSTR_DEFAULT' ||
              c['contype'] === 'CONSTR_IDENTITY' ||
              c['contype'] === 'CONSTR_GENERATED',
          );
          return required && !filled;
        })
        .map((column) => ({
          message: `NOT NULL column ${String(column['colname'])} without a default fails on, or rewrites, existing rows of ${table}`,
        }));
    },
  },
  'rename-table': {
    severity: 'error',
    firesOn: 'ALTER TABLE … RENAME TO',
    why: 'the running application version still queries the old name',
    advice: 'create the new name as a view or copy, move readers, then drop the old name',
    aka: ['squawk renaming-table', 'strong_migrations rename_table'],
    check(stmt) {
      const rename = renameOf(stmt);
      return rename?.['renameType'] === 'OBJECT_TABLE'
        ? [
            {
              message: `renames table ${tableName(rename['relation'])}: running code still uses the old name`,
            },
          ]
        : [];
    },
  },
  'rename-column': {
    severity: 'error',
    firesOn: 'ALTER TABLE … RENAME COLUMN',
    why: 'the running application version still reads and writes the old name',
    advice: 'add the new column, write both, move readers, then drop the old one',
    aka: ['squawk renaming-column', 'strong_migrations rename_column'],
    check(stmt) {
      const rename = renameOf(stmt);
      return rename?.['renameType'] === 'OBJECT_COLUMN'
        ? [
            {
              message: `renames column ${tableName(rename['relation'])}.${String(rename['subname'])}: running code still uses the old name`,
            },
          ]
        : [];
    },
  },
  'rename-schema': {
    severity: 'error',
    firesOn: 'ALTER SCHEMA … RENAME TO',
    why: 'every query naming the schema, and every search_path, breaks at once',
    advice: 'create the new schema, move objects and readers over, then drop the old one',
    aka: ['strong_migrations rename_schema'],
    check(stmt) {
      const rename = renameOf(stmt);
      return rename?.['renameType'] === 'OBJECT_SCHEMA'
        ? [{ message: `renames schema ${String(rename['subname'])}: running code still uses the old name` }]
        : [];
    },
  },
  'rename-enum-value': {
    severity: 'error',
    firesOn: 'ALTER TYPE … RENAME VALUE',
    why: 'the running application version still writes and compares the old label',
    advice: 'add the new value, move writers and rows over, stop using the old one',
    aka: ['strong_migrations rename_enum_value'],
    check(stmt) {
      const alter = child(stmt, 'AlterEnumStmt');
      return alter?.['oldVal']
        ? [{ message: `renames value ${String(alter['oldVal'])} of enum ${dotted(alter['typeName'])}` }]
        : [];
    },
  },
  'drop-table': {
    severity: 'error',
    firesOn: 'DROP TABLE in an upgrade',
    why: 'its data is gone: a downgrade recreates the table empty (unless revisor stashed it)',
    advice: 'stop using the table in a release first, then drop it',
    aka: ['squawk ban-drop-table', 'strong_migrations remove_table'],
    check(stmt) {
      return child(stmt, 'DropStmt')?.['removeType'] === 'OBJECT_TABLE'
        ? [{ message: 'drops a table in an upgrade' }]
        : [];
    },
  },
  'drop-column': {
    severity: 'error',
    firesOn: 'ALTER TABLE … DROP COLUMN in an upgrade',
    why: 'its data is gone, and the running application version may still read it',
    advice: 'stop reading the column in a release first, then drop it',
    aka: ['squawk ban-drop-column', 'strong_migrations remove_column'],
    check(stmt) {
      const alter = child(stmt, 'AlterTableStmt');
      if (!alter) return [];
      const table = tableName(alter['relation']);
      return alterCommands(alter)
        .filter((cmd) => cmd['subtype'] === 'AT_DropColumn')
        .map((cmd) => ({ message: `drops column ${table}.${String(cmd['name'])} in an upgrade` }));
    },
  },
  'drop-not-null': {
    severity: 'warning',
    firesOn: 'ALTER COLUMN … DROP NOT NULL',
    why: 'readers that assume a value (the running version, reports, other services) meet NULLs',
    advice: 'make every reader handle NULL in a release first',
    aka: ['squawk ban-drop-not-null'],
    check(stmt) {
      const alter = child(stmt, 'AlterTableStmt');
      if (!alter) return [];
      const table = tableName(alter['relation']);
      return alterCommands(alter)
        .filter((cmd) => cmd['subtype'] === 'AT_DropNotNull')
        .map((cmd) => ({ message: `${table}.${String(cmd['name'])} may now be NULL` }));
    },
  },
  'drop-database': {
    severity: 'error',
    firesOn: 'DROP DATABASE',
    why: 'a migration has no business removing a whole database; nothing can undo it',
    advice: 'do it by hand, deliberately, outside the migrations',
    aka: ['squawk ban-drop-database'],
    check(stmt) {
      const drop = child(stmt, 'DropdbStmt');
      return drop ? [{ message: `drops database ${String(drop['dbname'])}` }] : [];
    },
  },
  'truncate-cascade': {
    severity: 'error',
    firesOn: 'TRUNCATE … CASCADE',
    why: 'it also empties every table whose foreign keys point at it, which the statement does not name',
    advice: 'TRUNCATE the tables by name, without CASCADE',
    aka: ['squawk ban-truncate-cascade'],
    check(stmt) {
      const truncate = child(stmt, 'TruncateStmt');
      return truncate?.['behavior'] === 'DROP_CASCADE'
        ? [{ message: 'TRUNCATE CASCADE empties every table referencing these too' }]
        : [];
    },
  },
  'breaking-change-before-deploy': {
    severity: 'error',
    firesOn:
      'in a pre-deploy revision: a dropped or renamed table or column, SET NOT NULL, a type change, a dropped default',
    why: 'pre-deploy revisions run while the previous application version still serves traffic, and it breaks',
    advice:
      'move it to a revision with phase: post-deploy, which runs once the new application version is rolled out',
    aka: [],
    check(stmt, ctx) {
      if (ctx.phase !== 'pre-deploy') return [];
      return breakingChanges(stmt, (table) => isCreated(ctx, table)).map((what) => ({
        message: `${what} in a pre-deploy revision breaks the application version still running`,
      }));
    },
  },
} satisfies Record<string, RuleDefinition>;
