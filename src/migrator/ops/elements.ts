import { checkSubject, conventionalName } from './naming.js';
import { ident, isRawSql, literal, qualified, type RawSql } from './statement.js';
import type { ColumnType } from './types.js';

export type ServerDefault = string | number | boolean | RawSql;
export type ReferentialAction = 'CASCADE' | 'SET NULL' | 'SET DEFAULT' | 'RESTRICT' | 'NO ACTION';

export interface ColumnOptions {
  /** SQLAlchemy's default: nullable unless primary key. */
  nullable?: boolean;
  primaryKey?: boolean;
  unique?: boolean;
  /** A string or number is a literal; sql`now()` is an expression. */
  serverDefault?: ServerDefault;
  identity?: 'always' | 'by default';
  /** A stored generated column: `GENERATED ALWAYS AS (expression) STORED`. */
  generated?: string;
  /** A collation name, quoted as PostgreSQL prints it (`"C"`). */
  collation?: string;
}

export interface Column {
  readonly kind: 'column';
  readonly name: string;
  readonly type: ColumnType;
  readonly options: ColumnOptions;
}

export interface PrimaryKey {
  readonly kind: 'primaryKey';
  readonly columns: readonly string[];
  readonly name?: string;
}

export interface ForeignKeyOptions {
  name?: string;
  ondelete?: ReferentialAction;
  onupdate?: ReferentialAction;
  referentSchema?: string;
  deferrable?: boolean;
  initiallyDeferred?: boolean;
}

export interface ForeignKey extends ForeignKeyOptions {
  readonly kind: 'foreignKey';
  readonly columns: readonly string[];
  readonly referent: string;
  readonly referentColumns: readonly string[];
}

export interface Unique {
  readonly kind: 'unique';
  readonly columns: readonly string[];
  readonly name?: string;
}

export interface Check {
  readonly kind: 'check';
  readonly expression: string;
  readonly name?: string;
}

export type Constraint = PrimaryKey | ForeignKey | Unique | Check;
export type TableElement = Column | Constraint;

export function column(name: string, type: ColumnType, options: ColumnOptions = {}): Column {
  return { kind: 'column', name, type, options };
}

export function primaryKey(columns: readonly string[], options: { name?: string } = {}): PrimaryKey {
  return { kind: 'primaryKey', columns, ...options };
}

export function foreignKey(
  columns: readonly string[],
  referent: string,
  referentColumns: readonly string[],
  options: ForeignKeyOptions = {},
): ForeignKey {
  if (columns.length !== referentColumns.length) {
    throw new TypeError(
      `foreign key on (${columns.join(', ')}) names ${referentColumns.length} referred columns`,
    );
  }
  return { kind: 'foreignKey', columns, referent, referentColumns, ...options };
}

export function unique(columns: readonly string[], options: { name?: string } = {}): Unique {
  return { kind: 'unique', columns, ...options };
}

export function check(expression: string, options: { name?: string } = {}): Check {
  return { kind: 'check', expression, ...options };
}

const actions = new Set<string>(['CASCADE', 'SET NULL', 'SET DEFAULT', 'RESTRICT', 'NO ACTION']);

function action(clause: string, value: ReferentialAction | undefined): string {
  if (value === undefined) return '';
  const normalized = value.toUpperCase();
  if (!actions.has(normalized)) throw new TypeError(`${clause} must be one of ${[...actions].join(', ')}`);
  return ` ${clause} ${normalized}`;
}

export const identList = (names: readonly string[]): string => names.map(ident).join(', ');

export function renderDefault(value: ServerDefault): string {
  return isRawSql(value) ? value.raw : literal(value);
}

/** `name type [NOT NULL] [DEFAULT …]` as in CREATE TABLE and ADD COLUMN. */
export function renderColumn(col: Column): string {
  const parts = [ident(col.name), col.type.sql];
  const { options } = col;
  if (options.collation) parts.push(`COLLATE ${options.collation}`);
  if (options.generated) parts.push(`GENERATED ALWAYS AS (${options.generated}) STORED`);
  if (options.identity) parts.push(`GENERATED ${options.identity.toUpperCase()} AS IDENTITY`);
  if (options.serverDefault !== undefined) parts.push(`DEFAULT ${renderDefault(options.serverDefault)}`);
  const nullable = options.nullable ?? !options.primaryKey;
  if (!nullable) parts.push('NOT NULL');
  return parts.join(' ');
}

/** Gives every constraint its name (the convention's when none is given). */
export function nameConstraint(
  table: string,
  constraint: Constraint,
  taken: Set<string> = new Set(),
): string {
  let name = constraint.name;
  if (name === undefined) {
    switch (constraint.kind) {
      case 'primaryKey':
        name = conventionalName('pk', [table]);
        break;
      case 'unique':
        name = conventionalName('uq', [table, ...constraint.columns]);
        break;
      case 'foreignKey':
        name = conventionalName('fk', [table, constraint.columns[0] ?? '', constraint.referent]);
        break;
      case 'check':
        name = conventionalName('ck', [table, checkSubject(constraint.expression)]);
        break;
    }
    const base = name;
    for (let n = 2; taken.has(name); n++) name = `${base}_${n}`;
  }
  taken.add(name);
  return name;
}

/** The constraint body after `CONSTRAINT name`. */
export function renderConstraintBody(constraint: Constraint): string {
  switch (constraint.kind) {
    case 'primaryKey':
      return `PRIMARY KEY (${identList(constraint.columns)})`;
    case 'unique':
      return `UNIQUE (${identList(constraint.columns)})`;
    case 'check':
      return `CHECK (${constraint.expression})`;
    case 'foreignKey': {
      let body =
        `FOREIGN KEY (${identList(constraint.columns)}) ` +
        `REFERENCES ${qualified(constraint.referent, constraint.referentSchema)} (${identList(constraint.referentColumns)})`;
      body += action('ON DELETE', constraint.ondelete) + action('ON UPDATE', constraint.onupdate);
      if (constraint.deferrable) body += ' DEFERRABLE';
      if (constraint.initiallyDeferred) body += ' INITIALLY DEFERRED';
      return body;
    }
  }
}
