import { describe, expect, it } from 'vitest';
import { backfill, backfillBatch } from '../../src/migrator/ops/backfill.js';
import { check, column, foreignKey, primaryKey, unique } from '../../src/migrator/ops/elements.js';
import { Op } from '../../src/migrator/ops/op.js';
import { ident, inline, literal, sql } from '../../src/migrator/ops/statement.js';
import { sa } from '../../src/migrator/ops/types.js';

const render = (build: (op: Op) => void) => {
  const op = new Op();
  build(op);
  return op.statements.map(inline);
};

describe('identifiers and literals', () => {
  it('quotes only what needs quoting', () => {
    expect(ident('users')).toBe('users');
    expect(ident('user')).toBe('"user"');
    expect(ident('Mixed')).toBe('"Mixed"');
    expect(ident('we"ird')).toBe('"we""ird"');
    expect(() => ident('')).toThrow(/invalid SQL identifier/);
  });
  it('escapes literals', () => {
    expect(literal("it's")).toBe("'it''s'");
    expect(literal('a\\b')).toBe("E'a\\\\b'");
    expect(literal(null)).toBe('NULL');
    expect(literal(true)).toBe('true');
    expect(literal(12.5)).toBe('12.5');
    expect(literal({ a: 1 })).toBe(`'{"a":1}'`);
  });
});

describe('createTable', () => {
  it('renders columns, defaults and named constraints like the seed users table', () => {
    const [statement] = render((op) =>
      op.createTable(
        'users',
        column('id', sa.UUID(), { nullable: false }),
        column('organization_id', sa.UUID()),
        column('email', sa.String(255), { nullable: false }),
        column('role', sa.String(50), { nullable: false, serverDefault: 'user' }),
        column('created_at', sa.DateTime({ timezone: true }), {
          nullable: false,
          serverDefault: sql('now()'),
        }),
        check("role IN ('admin', 'user', 'viewer')", { name: 'ck_users_chk_role' }),
        foreignKey(['organization_id'], 'organizations', ['id'], { ondelete: 'CASCADE' }),
        primaryKey(['id']),
        unique(['email']),
      ),
    );
    expect(statement).toBe(
      [
        'CREATE TABLE users (',
        '    id uuid NOT NULL,',
        '    organization_id uuid,',
        '    email varchar(255) NOT NULL,',
        "    role varchar(50) DEFAULT 'user' NOT NULL,",
        '    created_at timestamp with time zone DEFAULT now() NOT NULL,',
        "    CONSTRAINT ck_users_chk_role CHECK (role IN ('admin', 'user', 'viewer')),",
        '    CONSTRAINT fk_users_organization_id_organizations FOREIGN KEY (organization_id) REFERENCES organizations (id) ON DELETE CASCADE,',
        '    CONSTRAINT pk_users PRIMARY KEY (id),',
        '    CONSTRAINT uq_users_email UNIQUE (email)',
        ')',
      ].join('\n'),
    );
  });

  it('names column-level primary keys and unique columns by the convention', () => {
    const [statement] = render((op) =>
      op.createTable(
        't',
        column('id', sa.BigInteger(), { primaryKey: true }),
        column('code', sa.Text(), { unique: true }),
      ),
    );
    expect(statement).toContain('id bigint NOT NULL');
    expect(statement).toContain('CONSTRAINT pk_t PRIMARY KEY (id)');
    expect(statement).toContain('CONSTRAINT uq_t_code UNIQUE (code)');
  });

  it('derives distinct names for unnamed checks on the same column', () => {
    const [statement] = render((op) =>
      op.createTable('q', column('n', sa.Integer()), check('n >= 0'), check('n < 100')),
    );
    expect(statement).toContain('CONSTRAINT ck_q_n CHECK (n >= 0)');
    expect(statement).toContain('CONSTRAINT ck_q_n_2 CHECK (n < 100)');
  });

  it('refuses a referential action PostgreSQL does not have', () => {
    expect(() =>
      render((op) =>
        op.createTable(
          'x',
          column('a', sa.Integer()),
          foreignKey(['a'], 'y', ['id'], { ondelete: 'EXPLODE' as never }),
        ),
      ),
    ).toThrow(/ON DELETE must be one of/);
  });

  it('renders every type', () => {
    const types = [
      [sa.UUID(), 'uuid'],
      [sa.String(), 'varchar'],
      [sa.Text(), 'text'],
      [sa.Integer(), 'integer'],
      [sa.SmallInteger(), 'smallint'],
      [sa.Boolean(), 'boolean'],
      [sa.DateTime(), 'timestamp without time zone'],
      [sa.Date(), 'date'],
      [sa.Numeric(10, 2), 'numeric(10,2)'],
      [sa.Float(), 'double precision'],
      [sa.JSON(), 'json'],
      [sa.JSONB(), 'jsonb'],
      [sa.ARRAY(sa.String()), 'varchar[]'],
      [sa.INET(), 'inet'],
      [sa.Enum('mood'), 'mood'],
    ] as const;
    for (const [type, expected] of types) expect(type.sql).toBe(expected);
    expect(() => sa.String(0)).toThrow(/positive integer/);
  });
});

describe('column and table alterations', () => {
  it('adds, drops, alters and renames', () => {
    expect(
      render((op) => {
        op.addColumn('sessions', column('max_retries', sa.Integer(), { serverDefault: 3, nullable: false }));
        op.dropColumn('sessions', 'max_retries');
        op.alterColumn('sessions', 'timeout_seconds', {
          type: sa.BigInteger(),
          using: 'timeout_seconds::bigint',
        });
        op.alterColumn('sessions', 'name', { nullable: false, serverDefault: null, newName: 'title' });
        op.renameTable('sessions', 'agent_sessions');
        op.dropTable('agent_sessions', { ifExists: true, cascade: true });
      }),
    ).toEqual([
      'ALTER TABLE sessions ADD COLUMN max_retries integer DEFAULT 3 NOT NULL',
      'ALTER TABLE sessions DROP COLUMN max_retries',
      'ALTER TABLE sessions ALTER COLUMN timeout_seconds TYPE bigint USING timeout_seconds::bigint',
      'ALTER TABLE sessions ALTER COLUMN name SET NOT NULL, ALTER COLUMN name DROP DEFAULT',
      'ALTER TABLE sessions RENAME COLUMN name TO title',
      'ALTER TABLE sessions RENAME TO agent_sessions',
      'DROP TABLE IF EXISTS agent_sessions CASCADE',
    ]);
  });
  it('refuses an alterColumn that changes nothing', () => {
    expect(() => render((op) => op.alterColumn('t', 'c', {}))).toThrow(/changes nothing/);
  });
});

describe('indexes and constraints', () => {
  it('renders unique, partial, gin, desc and concurrent indexes', () => {
    expect(
      render((op) => {
        op.createIndex('ix_users_email', 'users', ['email'], { unique: true });
        op.createIndex('idx_templates_tags', 'session_templates', ['tags'], { using: 'gin' });
        op.createIndex(null, 'session_templates', ['is_public'], { where: 'is_public = true' });
        op.createIndex('idx_audit_created', 'audit_logs', [{ column: 'created_at', desc: true }]);
        op.createIndex('ix_c', 'big', ['a', 'b'], { concurrently: true, ifNotExists: true });
        op.dropIndex('ix_c', { concurrently: true, ifExists: true });
      }),
    ).toEqual([
      'CREATE UNIQUE INDEX ix_users_email ON users (email)',
      'CREATE INDEX idx_templates_tags ON session_templates USING gin (tags)',
      'CREATE INDEX ix_session_templates_is_public ON session_templates (is_public) WHERE is_public = true',
      'CREATE INDEX idx_audit_created ON audit_logs (created_at DESC)',
      'CREATE INDEX CONCURRENTLY IF NOT EXISTS ix_c ON big (a, b)',
      'DROP INDEX CONCURRENTLY IF EXISTS ix_c',
    ]);
  });

  it('adds and drops constraints, NOT VALID where asked', () => {
    expect(
      render((op) => {
        op.createForeignKey(null, 'sessions', 'session_templates', ['template_id'], ['id'], {
          ondelete: 'SET NULL',
          notValid: true,
        });
        op.createUniqueConstraint(null, 'messages', ['session_id', 'sequence_number']);
        op.createCheckConstraint('ck_size', 'archives', 'size_bytes >= 0', { notValid: true });
        op.createPrimaryKey(null, 'things', ['id']);
        op.validateConstraint('ck_size', 'archives');
        op.dropConstraint('ck_size', 'archives', { ifExists: true });
      }),
    ).toEqual([
      'ALTER TABLE sessions ADD CONSTRAINT fk_sessions_template_id_session_templates FOREIGN KEY (template_id) REFERENCES session_templates (id) ON DELETE SET NULL NOT VALID',
      'ALTER TABLE messages ADD CONSTRAINT uq_messages_session_id_sequence_number UNIQUE (session_id, sequence_number)',
      'ALTER TABLE archives ADD CONSTRAINT ck_size CHECK (size_bytes >= 0) NOT VALID',
      'ALTER TABLE things ADD CONSTRAINT pk_things PRIMARY KEY (id)',
      'ALTER TABLE archives VALIDATE CONSTRAINT ck_size',
      'ALTER TABLE archives DROP CONSTRAINT IF EXISTS ck_size',
    ]);
  });

  it('keeps generated names within 63 bytes and distinct', () => {
    const long = 'a'.repeat(40);
    const [a] = render((op) => op.createIndex(null, long, ['column_one_with_a_long_name']));
    const [b] = render((op) => op.createIndex(null, long, ['column_one_with_a_long_name_2']));
    const nameOf = (s: string) => s.split(' ')[2]!;
    expect(nameOf(a!).length).toBeLessThanOrEqual(63);
    expect(nameOf(a!)).not.toBe(nameOf(b!));
  });
});

describe('schema objects and data', () => {
  it('renders schemas, extensions and enums', () => {
    expect(
      render((op) => {
        op.createSchema('app', { ifNotExists: true });
        op.createExtension('pg_trgm', { ifNotExists: true });
        op.createEnum('mood', ['happy', "it's"]);
        op.dropEnum('mood');
        op.dropExtension('pg_trgm');
        op.dropSchema('app', { cascade: true });
      }),
    ).toEqual([
      'CREATE SCHEMA IF NOT EXISTS app',
      'CREATE EXTENSION IF NOT EXISTS pg_trgm',
      "CREATE TYPE mood AS ENUM ('happy', 'it''s')",
      'DROP TYPE mood',
      'DROP EXTENSION pg_trgm',
      'DROP SCHEMA app CASCADE',
    ]);
  });

  it('passes data as parameters, never in the text', () => {
    const op = new Op();
    op.bulkInsert('plans', [{ name: "x'); DROP TABLE users; --", quota: 5 }, { name: 'b' }]);
    op.update('sessions', { status: 'archived' }, { status: 'old', deleted_at: null });
    op.delete('sessions', { id: 7 });
    op.execute('UPDATE t SET a = $1', [1]);
    expect(op.statements).toEqual([
      {
        sql: 'INSERT INTO plans (name, quota) VALUES ($1, $2), ($3, DEFAULT)',
        params: ["x'); DROP TABLE users; --", 5, 'b'],
      },
      {
        sql: 'UPDATE sessions SET status = $1 WHERE status = $2 AND deleted_at IS NULL',
        params: ['archived', 'old'],
      },
      { sql: 'DELETE FROM sessions WHERE id = $1', params: [7] },
      { sql: 'UPDATE t SET a = $1', params: [1] },
    ]);
    expect(() => op.delete('sessions', {})).toThrow(/needs a WHERE/);
  });
});

describe('op.backfill', () => {
  it('renders a batch as one statement over the key, and the whole as an offline DO block', () => {
    const statement = backfill({
      table: 'orders',
      schema: 'shop',
      set: 'total = price * qty',
      where: 'total IS NULL',
      batchSize: 500,
    });
    expect(backfillBatch(statement.backfill)).toBe(
      'WITH todo AS (SELECT id FROM shop.orders WHERE (total IS NULL) AND (NOT $1::boolean OR id > $2) ORDER BY id LIMIT $3 FOR UPDATE), ' +
        'done AS (UPDATE shop.orders AS target SET total = price * qty FROM todo WHERE target.id = todo.id RETURNING target.id) ' +
        'SELECT count(*)::int AS rows, max(id)::text AS last FROM done',
    );
    expect(statement.sql).toContain(
      'UPDATE shop.orders SET total = price * qty WHERE id IN (SELECT id FROM shop.orders WHERE (total IS NULL) ORDER BY id LIMIT 500);',
    );
    expect(statement.sql).toContain('COMMIT;');
  });

  it('needs set, where and a positive batch size', () => {
    expect(() => backfill({ table: 't', set: 'a = 1', where: '' })).toThrow(/needs where/);
    expect(() => backfill({ table: 't', set: '', where: 'a IS NULL' })).toThrow(/needs set/);
    expect(() => backfill({ table: 't', set: 'a = 1', where: 'a IS NULL', batchSize: 0 })).toThrow(
      /batchSize/,
    );
  });
});
