import { describe, expect, it } from 'vitest';
import { type Catalog, type Column, emptyCatalog, type Table } from '../../src/migrator/schema/catalog.js';
import { changeCode, changeStatements } from '../../src/migrator/schema/changes.js';
import { diff } from '../../src/migrator/schema/diff.js';

const col = (name: string, type = 'integer', extra: Partial<Column> = {}): Column => ({
  name,
  type,
  notNull: false,
  default: null,
  identity: null,
  generated: null,
  collation: null,
  comment: null,
  ...extra,
});
const table = (name: string, columns: Column[], extra: Partial<Table> = {}): Table => ({
  schema: 'public',
  name,
  columns,
  constraints: [],
  indexes: [],
  comment: null,
  ...extra,
});
const catalog = (extra: Partial<Catalog>): Catalog => ({ ...emptyCatalog, ...extra });
const summaries = (from: Catalog, to: Catalog) => diff(from, to).map((c) => c.summary);

const users = table('users', [col('id', 'bigint', { notNull: true })], {
  constraints: [
    { name: 'users_pkey', kind: 'primary key', definition: 'PRIMARY KEY (id)', references: null },
  ],
});
const orders = table('orders', [col('id'), col('user_id', 'bigint'), col('state', 'mood')], {
  constraints: [
    {
      name: 'orders_user_id_fkey',
      kind: 'foreign key',
      definition: 'FOREIGN KEY (user_id) REFERENCES users(id)',
      references: 'public.users',
    },
  ],
  indexes: [
    { name: 'orders_state', definition: 'CREATE INDEX orders_state ON public.orders USING btree (state)' },
  ],
});
const mood = { schema: 'public', name: 'mood', labels: ['sad', 'happy'] };
const full = catalog({ enums: [mood], tables: [users, orders] });

describe('diff: order of operations', () => {
  it('creates enums before the tables that use them, keys before indexes, foreign keys last', () => {
    expect(summaries(emptyCatalog, full)).toEqual([
      'create enum public.mood',
      'create table public.users',
      'create table public.orders',
      'add primary key users_pkey on public.users',
      'create index orders_state on public.orders',
      'add foreign key orders_user_id_fkey on public.orders',
    ]);
  });

  it('drops foreign keys before the tables they name, and enums after the tables that use them', () => {
    expect(summaries(full, emptyCatalog)).toEqual([
      'drop foreign key orders_user_id_fkey on public.orders',
      'drop table public.users',
      'drop table public.orders',
      'drop enum public.mood',
    ]);
  });

  it('drops and re-adds a foreign key whose referenced key changes', () => {
    const wider = {
      ...users,
      constraints: [{ ...users.constraints[0]!, definition: 'PRIMARY KEY (id, tenant)' }],
      columns: [...users.columns, col('tenant', 'integer', { notNull: true })],
    };
    expect(summaries(full, catalog({ enums: [mood], tables: [wider, orders] }))).toEqual([
      'drop foreign key orders_user_id_fkey on public.orders',
      'drop primary key users_pkey on public.users',
      'add column public.users.tenant',
      'add primary key users_pkey on public.users',
      'add foreign key orders_user_id_fkey on public.orders',
    ]);
  });

  it('drops a view before its table changes and re-creates it after, readers last', () => {
    const t1 = table('t', [col('v')]);
    const t2 = table('t', [col('v', 'bigint')]);
    const v1 = {
      schema: 'public',
      name: 'v1',
      materialized: false,
      definition: ' SELECT v FROM t;',
      reads: ['public.t'],
      comment: null,
    };
    const v2 = { ...v1, name: 'v2', definition: ' SELECT v FROM v1;', reads: ['public.v1'] };
    expect(
      summaries(catalog({ tables: [t1], views: [v2, v1] }), catalog({ tables: [t2], views: [v2, v1] })),
    ).toEqual([
      'drop view public.v2',
      'drop view public.v1',
      'type of public.t.v: integer -> bigint',
      'create view public.v1',
      'create view public.v2',
    ]);
  });

  it('creates a sequence before the column whose default uses it, and owns it after', () => {
    const seq = {
      schema: 'public',
      name: 't_id_seq',
      type: 'integer',
      start: '1',
      increment: '1',
      min: '1',
      max: '2147483647',
      cache: '1',
      cycle: false,
      ownedBy: 't.id',
    };
    const t = table('t', [col('id', 'integer', { notNull: true, default: "nextval('t_id_seq'::regclass)" })]);
    expect(summaries(emptyCatalog, catalog({ sequences: [seq], tables: [t] }))).toEqual([
      'create sequence public.t_id_seq',
      'create table public.t',
      'sequence public.t_id_seq owned by t.id',
    ]);
    // Dropping the table drops its owned sequence: no separate drop.
    expect(summaries(catalog({ sequences: [seq], tables: [t] }), emptyCatalog)).toEqual([
      'drop table public.t',
    ]);
  });

  it('marks destruction, and suggests a rename where a drop and an add look like one', () => {
    const [drop, add] = diff(
      catalog({ tables: [table('t', [col('old_name', 'text')])] }),
      catalog({ tables: [table('t', [col('new_name', 'text')])] }),
    );
    expect(drop).toMatchObject({ summary: 'drop column public.t.old_name', destructive: true });
    expect(drop?.review).toContain('--rename t.old_name:new_name');
    expect(add).toMatchObject({ summary: 'add column public.t.new_name', destructive: false });
  });
});

describe('changes: one description, two renderings', () => {
  it('writes op API code and the same SQL the op API renders', () => {
    const t = table('widgets', [
      col('id', 'bigint', { notNull: true, identity: 'always' }),
      col('name', 'character varying(50)', { default: "'x'::character varying" }),
    ]);
    const changes = diff(emptyCatalog, catalog({ tables: [t] }));
    expect(changeCode(changes)).toBe(
      '    op.createTable("widgets", column("id", sa.BigInteger(), { nullable: false, identity: "always" }), ' +
        'column("name", sa.String(50), { nullable: true, serverDefault: sql("\'x\'::character varying") }));',
    );
    expect(changeStatements(changes).map((s) => s.sql)).toEqual([
      "CREATE TABLE widgets (\n    id bigint GENERATED ALWAYS AS IDENTITY NOT NULL,\n    name character varying(50) DEFAULT 'x'::character varying\n)",
    ]);
  });
});
