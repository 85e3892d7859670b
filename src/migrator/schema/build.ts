import { ident, literal, qualified } from '../ops/statement.js';
import type { Column, Constraint, EnumType, Sequence, Table, View } from './catalog.js';
import type { Arg, Change, ColumnArg } from './changes.js';

/**
 * The op calls the diff emits, one builder per kind of change. Definitions PostgreSQL
 * printed (constraints, indexes, views, defaults) are used as printed, so a re-created
 * object is the same object; names are quoted here, as the op API quotes them.
 */
const schemaOf = (schema: string): { schema?: string } => (schema === 'public' ? {} : { schema });
const q = (o: { schema: string; name: string }) => qualified(o.name, o.schema);
const change = (
  method: Change['method'],
  args: Arg[],
  summary: string,
  extra: Partial<Change> = {},
): Change => ({
  method,
  args,
  summary,
  destructive: false,
  ...extra,
});
const execute = (text: string, summary: string, extra: Partial<Change> = {}) =>
  change('execute', [text], summary, extra);

export function columnArg(col: Column): ColumnArg {
  return {
    $column: col.name,
    type: col.type,
    options: {
      nullable: !col.notNull,
      ...(col.default === null ? {} : { serverDefault: { $sql: col.default } }),
      ...(col.identity ? { identity: col.identity } : {}),
      ...(col.generated ? { generated: col.generated } : {}),
      ...(col.collation ? { collation: col.collation } : {}),
    },
  };
}

export const build = {
  createSchema: (name: string) => change('createSchema', [name], `create schema ${name}`),
  dropSchema: (name: string) => change('dropSchema', [name], `drop schema ${name}`),
  createExtension: (name: string, schema: string) =>
    change('createExtension', [name, { schema }], `create extension ${name}`),
  dropExtension: (name: string) => change('dropExtension', [name], `drop extension ${name}`),

  createEnum: (e: EnumType) =>
    change('createEnum', [e.name, [...e.labels], schemaOf(e.schema)], `create enum ${q(e)}`),
  dropEnum: (e: EnumType) => change('dropEnum', [e.name, schemaOf(e.schema)], `drop enum ${q(e)}`),
  addEnumValue: (e: EnumType, label: string, before: string | undefined) =>
    execute(
      `ALTER TYPE ${q(e)} ADD VALUE ${literal(label)}${before === undefined ? '' : ` BEFORE ${literal(before)}`}`,
      `add value ${JSON.stringify(label)} to enum ${q(e)}`,
    ),
  renameEnum: (e: EnumType, to: string) =>
    execute(`ALTER TYPE ${q(e)} RENAME TO ${ident(to)}`, `rename enum ${q(e)} to ${to}`),

  createSequence: (s: Sequence) =>
    execute(
      `CREATE SEQUENCE ${q(s)} AS ${s.type} INCREMENT BY ${s.increment} MINVALUE ${s.min} MAXVALUE ${s.max} ` +
        `START WITH ${s.start} CACHE ${s.cache}${s.cycle ? ' CYCLE' : ' NO CYCLE'}`,
      `create sequence ${q(s)}`,
    ),
  alterSequence: (s: Sequence) =>
    execute(
      `ALTER SEQUENCE ${q(s)} AS ${s.type} INCREMENT BY ${s.increment} MINVALUE ${s.min} MAXVALUE ${s.max} ` +
        `START WITH ${s.start} CACHE ${s.cache}${s.cycle ? ' CYCLE' : ' NO CYCLE'}`,
      `alter sequence ${q(s)}`,
    ),
  ownSequence: (s: Sequence) => {
    const [table, col] = (s.ownedBy ?? '').split('.') as [string, string | undefined];
    const owner = s.ownedBy && col ? `${qualified(table, s.schema)}.${ident(col)}` : 'NONE';
    return execute(
      `ALTER SEQUENCE ${q(s)} OWNED BY ${owner}`,
      `sequence ${q(s)} owned by ${s.ownedBy ?? 'nothing'}`,
    );
  },
  dropSequence: (s: Sequence) =>
    execute(`DROP SEQUENCE ${q(s)}`, `drop sequence ${q(s)}`, { destructive: true }),

  createTable: (t: Table) =>
    change('createTable', [t.name, ...t.columns.map(columnArg), schemaOf(t.schema)], `create table ${q(t)}`),
  dropTable: (t: Table, review?: string) =>
    change('dropTable', [t.name, schemaOf(t.schema)], `drop table ${q(t)}`, {
      destructive: true,
      ...(review ? { review } : {}),
    }),
  renameTable: (t: { schema: string; name: string }, to: string) =>
    change('renameTable', [t.name, to, schemaOf(t.schema)], `rename table ${q(t)} to ${to}`),
  addColumn: (t: Table, col: Column) =>
    change('addColumn', [t.name, columnArg(col), schemaOf(t.schema)], `add column ${q(t)}.${col.name}`),
  dropColumn: (t: Table, col: Column, review?: string) =>
    change('dropColumn', [t.name, col.name, schemaOf(t.schema)], `drop column ${q(t)}.${col.name}`, {
      destructive: true,
      ...(review ? { review } : {}),
    }),
  renameColumn: (t: { schema: string; name: string }, from: string, to: string) =>
    change(
      'alterColumn',
      [t.name, from, { newName: to, ...schemaOf(t.schema) }],
      `rename column ${q(t)}.${from} to ${to}`,
    ),
  alterColumn: (
    t: Table,
    name: string,
    options: Record<string, Arg>,
    summary: string,
    extra: Partial<Change> = {},
  ) => change('alterColumn', [t.name, name, { ...options, ...schemaOf(t.schema) }], summary, extra),
  columnIdentity: (t: Table, col: string, from: Column['identity'], to: Column['identity']) => {
    const target = `ALTER TABLE ${q(t)} ALTER COLUMN ${ident(col)}`;
    const sqlText =
      to === null
        ? `${target} DROP IDENTITY`
        : from === null
          ? `${target} ADD GENERATED ${to.toUpperCase()} AS IDENTITY`
          : `${target} SET GENERATED ${to.toUpperCase()}`;
    return execute(sqlText, `identity of ${q(t)}.${col}: ${to ?? 'none'}`);
  },
  columnCollation: (t: Table, col: Column) =>
    execute(
      `ALTER TABLE ${q(t)} ALTER COLUMN ${ident(col.name)} TYPE ${col.type}${col.collation ? ` COLLATE ${col.collation}` : ''}`,
      `collation of ${q(t)}.${col.name}: ${col.collation ?? 'default'}`,
    ),

  addConstraint: (t: Table, c: Constraint) =>
    execute(
      `ALTER TABLE ${q(t)} ADD CONSTRAINT ${ident(c.name)} ${c.definition}`,
      `add ${c.kind} ${c.name} on ${q(t)}`,
    ),
  dropConstraint: (t: { schema: string; name: string }, c: Constraint) =>
    change('dropConstraint', [c.name, t.name, schemaOf(t.schema)], `drop ${c.kind} ${c.name} on ${q(t)}`),
  createIndex: (t: Table, definition: string, name: string) =>
    execute(definition, `create index ${name} on ${q(t)}`),
  dropIndex: (schema: string, name: string) =>
    change('dropIndex', [name, schemaOf(schema)], `drop index ${qualified(name, schema)}`),

  createView: (v: View) =>
    execute(
      `CREATE ${v.materialized ? 'MATERIALIZED VIEW' : 'VIEW'} ${q(v)} AS ${v.definition.trim().replace(/;$/, '')}`,
      `create ${v.materialized ? 'materialized view' : 'view'} ${q(v)}`,
    ),
  dropView: (v: View) =>
    execute(`DROP ${v.materialized ? 'MATERIALIZED VIEW' : 'VIEW'} ${q(v)}`, `drop view ${q(v)}`),

  comment: (what: 'TABLE' | 'VIEW' | 'MATERIALIZED VIEW' | 'COLUMN', target: string, text: string | null) =>
    execute(
      `COMMENT ON ${what} ${target} IS ${text === null ? 'NULL' : literal(text)}`,
      `comment on ${what.toLowerCase()} ${target}`,
    ),
  tableTarget: (t: { schema: string; name: string }) => q(t),
  columnTarget: (t: { schema: string; name: string }, col: string) => `${q(t)}.${ident(col)}`,
};
