import { ident, literal, qualified, type Statement } from './statement.js';

interface ExistsOptions {
  ifNotExists?: boolean;
}
interface DropOptions {
  ifExists?: boolean;
  cascade?: boolean;
}

const notExists = (o: ExistsOptions) => (o.ifNotExists ? 'IF NOT EXISTS ' : '');
const exists = (o: DropOptions) => (o.ifExists ? 'IF EXISTS ' : '');
const cascade = (o: DropOptions) => (o.cascade ? ' CASCADE' : '');

export function createSchema(name: string, options: ExistsOptions = {}): Statement {
  return { sql: `CREATE SCHEMA ${notExists(options)}${ident(name)}` };
}

export function dropSchema(name: string, options: DropOptions = {}): Statement {
  return { sql: `DROP SCHEMA ${exists(options)}${ident(name)}${cascade(options)}` };
}

export function createExtension(name: string, options: ExistsOptions & { schema?: string } = {}): Statement {
  const schema = options.schema ? ` SCHEMA ${ident(options.schema)}` : '';
  return { sql: `CREATE EXTENSION ${notExists(options)}${ident(name)}${schema}` };
}

export function dropExtension(name: string, options: DropOptions = {}): Statement {
  return { sql: `DROP EXTENSION ${exists(options)}${ident(name)}${cascade(options)}` };
}

export function createEnum(
  name: string,
  values: readonly string[],
  options: { schema?: string } = {},
): Statement {
  if (values.length === 0) throw new TypeError(`enum ${name} needs at least one value`);
  return {
    sql: `CREATE TYPE ${qualified(name, options.schema)} AS ENUM (${values.map(literal).join(', ')})`,
  };
}

export function dropEnum(name: string, options: DropOptions & { schema?: string } = {}): Statement {
  return { sql: `DROP TYPE ${exists(options)}${qualified(name, options.schema)}${cascade(options)}` };
}
