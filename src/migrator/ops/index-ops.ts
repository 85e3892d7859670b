import { conventionalName } from './naming.js';
import { ident, qualified, type Statement } from './statement.js';

/** A plain column name, or a column/expression with ordering and operator class. */
export type IndexElement =
  | string
  | {
      column?: string;
      expression?: string;
      desc?: boolean;
      nulls?: 'first' | 'last';
      opclass?: string;
    };

export interface CreateIndexOptions {
  schema?: string;
  unique?: boolean;
  /** Partial index predicate. */
  where?: string;
  using?: 'btree' | 'gin' | 'gist' | 'hash' | 'brin' | 'spgist';
  concurrently?: boolean;
  ifNotExists?: boolean;
  include?: readonly string[];
}

function renderElement(element: IndexElement): string {
  if (typeof element === 'string') return ident(element);
  let text: string;
  if (element.column !== undefined) text = ident(element.column);
  else if (element.expression !== undefined) text = `(${element.expression})`;
  else throw new TypeError('an index element needs a column or an expression');
  if (element.opclass) text += ` ${element.opclass}`;
  if (element.desc) text += ' DESC';
  if (element.nulls) text += ` NULLS ${element.nulls.toUpperCase()}`;
  return text;
}

function elementLabel(element: IndexElement): string {
  if (typeof element === 'string') return element;
  return element.column ?? 'expr';
}

export function createIndex(
  name: string | null,
  table: string,
  elements: readonly IndexElement[],
  options: CreateIndexOptions = {},
): Statement {
  if (elements.length === 0) throw new TypeError(`createIndex on ${table} needs at least one column`);
  const indexName = name ?? conventionalName('ix', [table, ...elements.map(elementLabel)]);
  let sql = `CREATE ${options.unique ? 'UNIQUE ' : ''}INDEX ${options.concurrently ? 'CONCURRENTLY ' : ''}`;
  sql += `${options.ifNotExists ? 'IF NOT EXISTS ' : ''}${ident(indexName)} ON ${qualified(table, options.schema)}`;
  if (options.using) sql += ` USING ${options.using}`;
  sql += ` (${elements.map(renderElement).join(', ')})`;
  if (options.include?.length) sql += ` INCLUDE (${options.include.map(ident).join(', ')})`;
  if (options.where) sql += ` WHERE ${options.where}`;
  return { sql };
}

export interface DropIndexOptions {
  schema?: string;
  concurrently?: boolean;
  ifExists?: boolean;
}

export function dropIndex(name: string, options: DropIndexOptions = {}): Statement {
  const concurrently = options.concurrently ? 'CONCURRENTLY ' : '';
  const exists = options.ifExists ? 'IF EXISTS ' : '';
  return { sql: `DROP INDEX ${concurrently}${exists}${qualified(name, options.schema)}` };
}
