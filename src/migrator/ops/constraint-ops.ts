import {
  type Constraint,
  type ForeignKeyOptions,
  foreignKey,
  nameConstraint,
  renderConstraintBody,
} from './elements.js';
import { ident, qualified, type Statement } from './statement.js';

export interface AddConstraintOptions {
  schema?: string;
  /** Skip the scan of existing rows; VALIDATE CONSTRAINT later takes a weaker lock. */
  notValid?: boolean;
}

function addConstraint(table: string, constraint: Constraint, options: AddConstraintOptions): Statement {
  const name = nameConstraint(table, constraint);
  const notValid = options.notValid ? ' NOT VALID' : '';
  return {
    sql: `ALTER TABLE ${qualified(table, options.schema)} ADD CONSTRAINT ${ident(name)} ${renderConstraintBody(constraint)}${notValid}`,
  };
}

export function createForeignKey(
  name: string | null,
  table: string,
  referent: string,
  columns: readonly string[],
  referentColumns: readonly string[],
  options: ForeignKeyOptions & AddConstraintOptions = {},
): Statement {
  const { schema, notValid, ...fk } = options;
  return addConstraint(
    table,
    foreignKey(columns, referent, referentColumns, { ...fk, ...(name ? { name } : {}) }),
    {
      schema,
      notValid,
    },
  );
}

export function createUniqueConstraint(
  name: string | null,
  table: string,
  columns: readonly string[],
  options: { schema?: string } = {},
): Statement {
  return addConstraint(table, { kind: 'unique', columns, ...(name ? { name } : {}) }, options);
}

export function createCheckConstraint(
  name: string | null,
  table: string,
  expression: string,
  options: AddConstraintOptions = {},
): Statement {
  return addConstraint(table, { kind: 'check', expression, ...(name ? { name } : {}) }, options);
}

export function createPrimaryKey(
  name: string | null,
  table: string,
  columns: readonly string[],
  options: { schema?: string } = {},
): Statement {
  return addConstraint(table, { kind: 'primaryKey', columns, ...(name ? { name } : {}) }, options);
}

export function dropConstraint(
  name: string,
  table: string,
  options: { schema?: string; ifExists?: boolean; cascade?: boolean } = {},
): Statement {
  const exists = options.ifExists ? 'IF EXISTS ' : '';
  const cascade = options.cascade ? ' CASCADE' : '';
  return {
    sql: `ALTER TABLE ${qualified(table, options.schema)} DROP CONSTRAINT ${exists}${ident(name)}${cascade}`,
  };
}

export function validateConstraint(
  name: string,
  table: string,
  options: { schema?: string } = {},
): Statement {
  return { sql: `ALTER TABLE ${qualified(table, options.schema)} VALIDATE CONSTRAINT ${ident(name)}` };
}
