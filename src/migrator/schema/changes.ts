import { type ColumnOptions, column } from '../ops/elements.js';
import { Op } from '../ops/op.js';
import { type Statement, sql } from '../ops/statement.js';
import { sa } from '../ops/types.js';

/** `sql('now()')`: an expression, not a literal. */
export interface SqlArg {
  readonly $sql: string;
}

/** A column type: `sa.Integer()`, `sa.Type('tsvector')`. */
export interface TypeArg {
  readonly $type: string;
}

/** `column(name, type, options)`. */
export interface ColumnArg {
  readonly $column: string;
  readonly type: string;
  readonly options: {
    readonly nullable?: boolean;
    readonly serverDefault?: SqlArg;
    readonly identity?: 'always' | 'by default';
    readonly generated?: string;
    readonly collation?: string;
  };
}

export type Arg =
  | string
  | number
  | boolean
  | null
  | SqlArg
  | TypeArg
  | ColumnArg
  | readonly Arg[]
  | { readonly [key: string]: Arg | undefined };

export type OpMethod =
  | 'createTable'
  | 'dropTable'
  | 'renameTable'
  | 'addColumn'
  | 'dropColumn'
  | 'alterColumn'
  | 'dropIndex'
  | 'dropConstraint'
  | 'createSchema'
  | 'dropSchema'
  | 'createExtension'
  | 'dropExtension'
  | 'createEnum'
  | 'dropEnum'
  | 'execute';

/**
 * One step of a diff, as an op API call described by data. The same description is
 * applied (through the op API, so the SQL is the op API's) and written out as TypeScript
 * for a revision file, so the two can never disagree.
 */
export interface Change {
  readonly method: OpMethod;
  readonly args: readonly Arg[];
  /** What it does, for summaries and drift messages. */
  readonly summary: string;
  /** It destroys data (a dropped table or column, a removed enum label, a dropped sequence). */
  readonly destructive: boolean;
  /** Something for the author to decide (a drop and an add that look like a rename, a type change). */
  readonly review?: string;
}

const isSql = (a: Arg): a is SqlArg => typeof a === 'object' && a !== null && '$sql' in a;
const isColumn = (a: Arg): a is ColumnArg => typeof a === 'object' && a !== null && '$column' in a;
const isType = (a: Arg): a is TypeArg => typeof a === 'object' && a !== null && '$type' in a;

function materialize(arg: Arg): unknown {
  if (arg === null || typeof arg !== 'object') return arg;
  if (Array.isArray(arg)) return arg.map(materialize);
  if (isSql(arg)) return sql(arg.$sql);
  if (isType(arg)) return sa.Type(arg.$type);
  if (isColumn(arg)) {
    return column(arg.$column, sa.Type(arg.type), materialize(arg.options as Arg) as ColumnOptions);
  }
  return Object.fromEntries(
    Object.entries(arg)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => [k, materialize(v as Arg)]),
  );
}

/** The statements the changes run, rendered by the op API. */
export function changeStatements(changes: readonly Change[]): readonly Statement[] {
  const op = new Op();
  for (const change of changes) {
    const call = op[change.method] as (...args: unknown[]) => unknown;
    call.apply(op, change.args.map(materialize));
  }
  return op.statements;
}

/** The sa helper that names a catalog type, or sa.Type('…') when none does. */
export function typeCode(type: string): string {
  const simple: Record<string, string> = {
    uuid: 'sa.UUID()',
    text: 'sa.Text()',
    integer: 'sa.Integer()',
    bigint: 'sa.BigInteger()',
    smallint: 'sa.SmallInteger()',
    boolean: 'sa.Boolean()',
    'timestamp with time zone': 'sa.DateTime({ timezone: true })',
    'timestamp without time zone': 'sa.DateTime()',
    date: 'sa.Date()',
    'time without time zone': 'sa.Time()',
    interval: 'sa.Interval()',
    'double precision': 'sa.Float()',
    json: 'sa.JSON()',
    jsonb: 'sa.JSONB()',
    inet: 'sa.INET()',
    bytea: 'sa.LargeBinary()',
    'character varying': 'sa.String()',
    numeric: 'sa.Numeric()',
  };
  if (simple[type]) return simple[type];
  const varchar = /^character varying\((\d+)\)$/.exec(type);
  if (varchar) return `sa.String(${varchar[1]})`;
  const numeric = /^numeric\((\d+)(?:,(\d+))?\)$/.exec(type);
  if (numeric) return `sa.Numeric(${numeric[1]}${numeric[2] === undefined ? '' : `, ${numeric[2]}`})`;
  if (type.endsWith('[]') && simple[type.slice(0, -2)]) return `sa.ARRAY(${simple[type.slice(0, -2)]})`;
  return `sa.Type(${JSON.stringify(type)})`;
}

function code(arg: Arg): string {
  if (arg === null) return 'null';
  if (typeof arg === 'string') return JSON.stringify(arg);
  if (typeof arg !== 'object') return String(arg);
  if (Array.isArray(arg)) return `[${arg.map(code).join(', ')}]`;
  if (isSql(arg)) return `sql(${JSON.stringify(arg.$sql)})`;
  if (isType(arg)) return typeCode(arg.$type);
  if (isColumn(arg)) {
    const options = code(arg.options as Arg);
    return `column(${JSON.stringify(arg.$column)}, ${typeCode(arg.type)}${options === '{}' ? '' : `, ${options}`})`;
  }
  const entries = Object.entries(arg).filter(([, v]) => v !== undefined);
  if (entries.length === 0) return '{}';
  const key = (k: string) => (/^[A-Za-z_$][\w$]*$/.test(k) ? k : JSON.stringify(k));
  return `{ ${entries.map(([k, v]) => `${key(k)}: ${code(v as Arg)}`).join(', ')} }`;
}

/** The changes as op API calls, one per line, each review note and destructive step commented. */
export function changeCode(changes: readonly Change[], indent = '    '): string {
  const lines: string[] = [];
  for (const change of changes) {
    if (change.destructive) lines.push(`${indent}// destructive: ${change.summary}`);
    if (change.review) lines.push(`${indent}// review: ${change.review}`);
    const args = change.args.map(code);
    // A trailing `{}` (options left at their defaults) says nothing.
    while (args.at(-1) === '{}') args.pop();
    lines.push(`${indent}op.${change.method}(${args.join(', ')});`);
  }
  return lines.join('\n');
}

/** The helpers the generated code calls, for its import line. */
export function usedHelpers(changes: readonly Change[]): string[] {
  const text = changeCode(changes);
  return ['column', 'sa', 'sql'].filter((h) => new RegExp(`\\b${h}[.(]`).test(text));
}
