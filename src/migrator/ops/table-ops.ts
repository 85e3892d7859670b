import {
  type Column,
  type Constraint,
  nameConstraint,
  renderColumn,
  renderConstraintBody,
  renderDefault,
  type ServerDefault,
  type TableElement,
} from './elements.js';
import { ident, qualified, type Statement } from './statement.js';
import type { ColumnType } from './types.js';

export interface TableOptions {
  schema?: string;
  ifNotExists?: boolean;
}

export function createTable(
  name: string,
  elements: readonly TableElement[],
  options: TableOptions = {},
): Statement {
  const columns = elements.filter((e): e is Column => e.kind === 'column');
  if (columns.length === 0) throw new TypeError(`createTable(${name}) needs at least one column`);
  const constraints: Constraint[] = elements.filter((e): e is Constraint => e.kind !== 'column');
  const pkColumns = columns.filter((c) => c.options.primaryKey).map((c) => c.name);
  if (pkColumns.length > 0) {
    if (constraints.some((c) => c.kind === 'primaryKey')) {
      throw new TypeError(`createTable(${name}) declares its primary key twice`);
    }
    constraints.unshift({ kind: 'primaryKey', columns: pkColumns });
  }
  for (const col of columns) {
    if (col.options.unique) constraints.push({ kind: 'unique', columns: [col.name] });
  }
  const taken = new Set<string>();
  const lines = [
    ...columns.map(renderColumn),
    ...constraints.map(
      (c) => `CONSTRAINT ${ident(nameConstraint(name, c, taken))} ${renderConstraintBody(c)}`,
    ),
  ];
  const exists = options.ifNotExists ? 'IF NOT EXISTS ' : '';
  return {
    sql: `CREATE TABLE ${exists}${qualified(name, options.schema)} (\n    ${lines.join(',\n    ')}\n)`,
  };
}

export interface DropOptions {
  schema?: string;
  ifExists?: boolean;
  cascade?: boolean;
}

const dropTail = (options: DropOptions) => (options.cascade ? ' CASCADE' : '');
const ifExists = (options: DropOptions) => (options.ifExists ? 'IF EXISTS ' : '');

export function dropTable(name: string, options: DropOptions = {}): Statement {
  return { sql: `DROP TABLE ${ifExists(options)}${qualified(name, options.schema)}${dropTail(options)}` };
}

export function renameTable(from: string, to: string, options: { schema?: string } = {}): Statement {
  return { sql: `ALTER TABLE ${qualified(from, options.schema)} RENAME TO ${ident(to)}` };
}

export function addColumn(
  table: string,
  col: Column,
  options: { schema?: string; ifNotExists?: boolean } = {},
): Statement {
  const exists = options.ifNotExists ? 'IF NOT EXISTS ' : '';
  let sql = `ALTER TABLE ${qualified(table, options.schema)} ADD COLUMN ${exists}${renderColumn(col)}`;
  if (col.options.primaryKey) sql += ' PRIMARY KEY';
  if (col.options.unique) sql += ' UNIQUE';
  return { sql };
}

export function dropColumn(table: string, name: string, options: DropOptions = {}): Statement {
  return {
    sql: `ALTER TABLE ${qualified(table, options.schema)} DROP COLUMN ${ifExists(options)}${ident(name)}${dropTail(options)}`,
  };
}

export interface AlterColumnOptions {
  schema?: string;
  type?: ColumnType;
  /** Expression converting the old value, e.g. `created::timestamptz`. */
  using?: string;
  nullable?: boolean;
  /** null drops the default. */
  serverDefault?: ServerDefault | null;
  newName?: string;
}

/** One ALTER TABLE with every requested change, then the rename (which cannot share it). */
export function alterColumn(table: string, name: string, options: AlterColumnOptions): Statement[] {
  const target = qualified(table, options.schema);
  const col = ident(name);
  const actions: string[] = [];
  if (options.type) {
    actions.push(
      `ALTER COLUMN ${col} TYPE ${options.type.sql}${options.using ? ` USING ${options.using}` : ''}`,
    );
  }
  if (options.nullable !== undefined) {
    actions.push(`ALTER COLUMN ${col} ${options.nullable ? 'DROP' : 'SET'} NOT NULL`);
  }
  if (options.serverDefault !== undefined) {
    actions.push(
      options.serverDefault === null
        ? `ALTER COLUMN ${col} DROP DEFAULT`
        : `ALTER COLUMN ${col} SET DEFAULT ${renderDefault(options.serverDefault)}`,
    );
  }
  const statements: Statement[] = [];
  if (actions.length > 0) statements.push({ sql: `ALTER TABLE ${target} ${actions.join(', ')}` });
  if (options.newName !== undefined) {
    statements.push({ sql: `ALTER TABLE ${target} RENAME COLUMN ${col} TO ${ident(options.newName)}` });
  }
  if (statements.length === 0) throw new TypeError(`alterColumn(${table}.${name}) changes nothing`);
  return statements;
}
