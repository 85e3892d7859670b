import { qualified } from './statement.js';

/** A column type, named the way SQLAlchemy names them so Alembic users recognise them. */
export interface ColumnType {
  readonly sql: string;
}

const type = (sql: string): ColumnType => Object.freeze({ sql });

function positiveInt(value: number, what: string): number {
  if (!Number.isInteger(value) || value <= 0) throw new TypeError(`${what} must be a positive integer`);
  return value;
}

export const sa = {
  UUID: () => type('uuid'),
  String: (length?: number) =>
    type(length === undefined ? 'varchar' : `varchar(${positiveInt(length, 'length')})`),
  Text: () => type('text'),
  Integer: () => type('integer'),
  BigInteger: () => type('bigint'),
  SmallInteger: () => type('smallint'),
  Boolean: () => type('boolean'),
  DateTime: (options: { timezone?: boolean } = {}) =>
    type(options.timezone ? 'timestamp with time zone' : 'timestamp without time zone'),
  Date: () => type('date'),
  Time: () => type('time without time zone'),
  Interval: () => type('interval'),
  Numeric: (precision?: number, scale?: number) => {
    if (precision === undefined) return type('numeric');
    positiveInt(precision, 'precision');
    return type(scale === undefined ? `numeric(${precision})` : `numeric(${precision},${scale})`);
  },
  Float: () => type('double precision'),
  JSON: () => type('json'),
  JSONB: () => type('jsonb'),
  INET: () => type('inet'),
  LargeBinary: () => type('bytea'),
  ARRAY: (item: ColumnType) => type(`${item.sql}[]`),
  /** Any type by its PostgreSQL name (`character varying(50)`, `tsvector`): what autogenerate writes when no helper above fits. */
  Type: (sql: string) => {
    if (sql.trim() === '' || /;|--|\/\*/.test(sql))
      throw new TypeError(`not a type name: ${JSON.stringify(sql)}`);
    return type(sql);
  },
  /** A PostgreSQL enum type made with op.createEnum. */
  Enum: (name: string, options: { schema?: string } = {}) => type(qualified(name, options.schema)),
} as const;
