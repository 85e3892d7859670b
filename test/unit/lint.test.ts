import { parse } from 'libpg-query';
import { describe, expect, it } from 'vitest';
import { fromDefinition } from '../../src/migrator/chain/loader.js';
import { type Finding, lintMigration } from '../../src/migrator/lint/lint.js';
import type { RuleDefinition } from '../../src/migrator/lint/rule.js';
import { type RuleName, ruleNames, rules } from '../../src/migrator/lint/rules/index.js';

async function lint(
  sql: string[],
  options: {
    transactional?: boolean;
    lintWaivers?: Record<string, string>;
    phase?: 'pre-deploy' | 'post-deploy';
    enabled?: ReadonlySet<RuleName>;
  } = {},
) {
  const { enabled, ...definition } = options;
  const migration = fromDefinition(
    {
      revision: 'abc123',
      downRevision: null,
      message: 'm',
      ...definition,
      upgrade: (op) => {
        for (const s of sql) op.execute(s);
      },
      downgrade: () => undefined,
    },
    'fixture.ts',
  );
  return lintMigration(migration, parse, enabled ? { enabled } : {});
}

const rulesOf = (findings: Finding[]) => findings.map((f) => f.rule);

/** Every rule: SQL it fires on, and the safe rewrite it stays quiet on (every rule enabled). */
const cases: Record<RuleName, { fires: string[]; passes: string[]; transactional?: boolean }> = {
  'create-index-non-concurrent': {
    fires: ['CREATE INDEX ix ON users (email)'],
    passes: ['CREATE INDEX CONCURRENTLY IF NOT EXISTS ix ON users (email)'],
    transactional: false,
  },
  'drop-index-non-concurrent': {
    fires: ['DROP INDEX ix'],
    passes: ['DROP INDEX CONCURRENTLY IF EXISTS ix'],
    transactional: false,
  },
  'reindex-non-concurrent': {
    fires: ['REINDEX INDEX ix'],
    passes: ['REINDEX INDEX CONCURRENTLY ix'],
    transactional: false,
  },
  'detach-partition-non-concurrent': {
    fires: ['ALTER TABLE events DETACH PARTITION events_2020'],
    passes: ['ALTER TABLE events DETACH PARTITION events_2020 CONCURRENTLY'],
    transactional: false,
  },
  'concurrently-in-transaction': {
    fires: ['CREATE INDEX CONCURRENTLY ix ON users (email)'],
    passes: ['CREATE INDEX ix ON users (email)'],
  },
  'add-foreign-key-validated': {
    fires: ['ALTER TABLE users ADD CONSTRAINT fk FOREIGN KEY (org_id) REFERENCES orgs (id)'],
    passes: ['ALTER TABLE users ADD CONSTRAINT fk FOREIGN KEY (org_id) REFERENCES orgs (id) NOT VALID'],
  },
  'add-check-validated': {
    fires: ['ALTER TABLE users ADD CONSTRAINT ck CHECK (age > 0)'],
    passes: ['ALTER TABLE users ADD CONSTRAINT ck CHECK (age > 0) NOT VALID'],
  },
  'add-unique-constraint': {
    fires: ['ALTER TABLE users ADD CONSTRAINT uq UNIQUE (email)', 'ALTER TABLE users ADD PRIMARY KEY (id)'],
    passes: ['ALTER TABLE users ADD CONSTRAINT uq UNIQUE USING INDEX ix_users_email'],
  },
  'add-exclusion-constraint': {
    fires: [
      'ALTER TABLE bookings ADD CONSTRAINT no_overlap EXCLUDE USING gist (room WITH =, during WITH &&)',
    ],
    passes: [
      'CREATE TABLE bookings2 (room int, during tstzrange, EXCLUDE USING gist (room WITH =, during WITH &&))',
    ],
  },
  'set-not-null': {
    fires: ['ALTER TABLE users ALTER COLUMN email SET NOT NULL'],
    passes: ['ALTER TABLE users ADD CONSTRAINT email_nn CHECK (email IS NOT NULL) NOT VALID'],
  },
  'alter-column-type': {
    fires: ['ALTER TABLE users ALTER COLUMN id TYPE bigint'],
    passes: ['ALTER TABLE users ALTER COLUMN id SET DEFAULT 1'],
  },
  'add-column-volatile-default': {
    fires: ['ALTER TABLE users ADD COLUMN token uuid DEFAULT gen_random_uuid()'],
    passes: ['ALTER TABLE users ADD COLUMN joined timestamptz DEFAULT now()'],
  },
  'add-column-generated-stored': {
    fires: ['ALTER TABLE users ADD COLUMN email_lower text GENERATED ALWAYS AS (lower(email)) STORED'],
    passes: ['ALTER TABLE users ADD COLUMN email_lower text'],
  },
  'add-serial-column': {
    fires: [
      'ALTER TABLE users ADD COLUMN n bigserial',
      'ALTER TABLE users ADD COLUMN n bigint GENERATED ALWAYS AS IDENTITY',
    ],
    passes: ['ALTER TABLE users ADD COLUMN n bigint'],
  },
  'vacuum-full-or-cluster': {
    fires: ['VACUUM FULL users', 'CLUSTER users USING ix_users_email'],
    passes: ['VACUUM (ANALYZE) users'],
    transactional: false,
  },
  'alter-domain-add-constraint': {
    fires: ['ALTER DOMAIN positive ADD CONSTRAINT gt0 CHECK (VALUE > 0)'],
    passes: ['ALTER DOMAIN positive ADD CONSTRAINT gt0 CHECK (VALUE > 0) NOT VALID'],
  },
  'backfill-with-ddl': {
    fires: ['ALTER TABLE users ADD COLUMN plan text', "UPDATE users SET plan = 'free'"],
    passes: ["UPDATE users SET plan = 'free' WHERE id < 1000"],
  },
  'add-column-not-null-no-default': {
    fires: ['ALTER TABLE users ADD COLUMN plan text NOT NULL'],
    passes: ["ALTER TABLE users ADD COLUMN plan text NOT NULL DEFAULT 'free'"],
  },
  'rename-table': {
    fires: ['ALTER TABLE users RENAME TO people'],
    passes: ['CREATE VIEW people AS SELECT * FROM users'],
  },
  'rename-column': {
    fires: ['ALTER TABLE users RENAME COLUMN name TO full_name'],
    passes: ['ALTER TABLE users ADD COLUMN full_name text'],
  },
  'rename-schema': {
    fires: ['ALTER SCHEMA billing RENAME TO invoicing'],
    passes: ['CREATE SCHEMA invoicing'],
  },
  'rename-enum-value': {
    fires: ["ALTER TYPE mood RENAME VALUE 'sad' TO 'blue'"],
    passes: ["ALTER TYPE mood ADD VALUE 'blue' AFTER 'sad'"],
  },
  'drop-table': { fires: ['DROP TABLE users'], passes: ['DROP VIEW IF EXISTS people'] },
  'drop-column': {
    fires: ['ALTER TABLE users DROP COLUMN name'],
    passes: ['ALTER TABLE users ALTER COLUMN name SET DEFAULT 1'],
  },
  'drop-not-null': {
    fires: ['ALTER TABLE users ALTER COLUMN name DROP NOT NULL'],
    passes: ["ALTER TABLE users ALTER COLUMN name SET DEFAULT ''"],
  },
  'drop-database': { fires: ['DROP DATABASE legacy'], passes: ['DROP SCHEMA IF EXISTS legacy'] },
  'truncate-cascade': { fires: ['TRUNCATE orders CASCADE'], passes: ['TRUNCATE orders, order_lines'] },
  'breaking-change-before-deploy': {
    fires: ['ALTER TABLE users DROP COLUMN name'],
    passes: ['ALTER TABLE users ADD COLUMN nickname text'],
  },
  'transaction-control': { fires: ['BEGIN', 'COMMIT'], passes: ['SELECT 1'] },
  'duplicate-column-assignment': {
    fires: ['UPDATE users SET plan = 1, plan = 2'],
    passes: ['UPDATE users SET plan = 1, tier = 2'],
  },
  'identifier-too-long': {
    fires: [`CREATE TABLE ${'a'.repeat(64)} (id bigint)`],
    passes: [`CREATE TABLE ${'a'.repeat(63)} (id bigint)`],
  },
  'add-column-json': {
    fires: ['ALTER TABLE users ADD COLUMN prefs json'],
    passes: ['ALTER TABLE users ADD COLUMN prefs jsonb'],
  },
  'prefer-text': {
    fires: ['CREATE TABLE public.t (name varchar(20))', 'CREATE TABLE public.t (code char(2))'],
    passes: ['CREATE TABLE public.t (name text CHECK (length(name) <= 20))'],
  },
  'prefer-timestamptz': {
    fires: ['CREATE TABLE public.t (at timestamp)'],
    passes: ['CREATE TABLE public.t (at timestamptz)'],
  },
  'prefer-bigint': {
    fires: ['CREATE TABLE public.t (n integer)'],
    passes: ['CREATE TABLE public.t (n bigint)'],
  },
  'prefer-identity': {
    fires: ['CREATE TABLE public.t (id bigserial)'],
    passes: ['CREATE TABLE public.t (id bigint GENERATED ALWAYS AS IDENTITY)'],
  },
  'create-domain-with-constraint': {
    fires: ['CREATE DOMAIN positive AS bigint CHECK (VALUE > 0)'],
    passes: ['CREATE DOMAIN amount AS bigint'],
  },
  'index-too-many-columns': {
    fires: ['CREATE INDEX CONCURRENTLY IF NOT EXISTS ix ON public.t (a, b, c, d)'],
    passes: ['CREATE INDEX CONCURRENTLY IF NOT EXISTS ix ON public.t (a, b) INCLUDE (c, d)'],
    transactional: false,
  },
  'enum-value-without-position': {
    fires: ["ALTER TYPE mood ADD VALUE 'calm'"],
    passes: ["ALTER TYPE mood ADD VALUE 'calm' BEFORE 'happy'"],
  },
  'require-schema-qualified': {
    fires: ['CREATE TABLE orders (id bigint)'],
    passes: ['CREATE TABLE public.orders (id bigint)'],
  },
  'prefer-robust-stmts': {
    fires: ['CREATE INDEX CONCURRENTLY ix ON public.t (a)'],
    passes: ['CREATE INDEX CONCURRENTLY IF NOT EXISTS ix ON public.t (a)'],
    transactional: false,
  },
};

describe('lint rules fire on risky SQL and stay quiet on its safe rewrite', () => {
  it('has a case for every rule', () => {
    expect(Object.keys(cases).sort()).toEqual([...ruleNames].sort());
  });

  for (const [rule, { fires, passes, transactional }] of Object.entries(cases)) {
    it(rule, async () => {
      const phase = rule === 'breaking-change-before-deploy' ? 'pre-deploy' : 'post-deploy';
      const every = new Set(ruleNames);
      const settings = {
        phase,
        enabled: every,
        ...(transactional === undefined ? {} : { transactional }),
      } as const;
      const risky = rule === 'backfill-with-ddl' ? [fires] : fires.map((sql) => [sql]);
      for (const sql of risky) expect(rulesOf(await lint(sql, settings)), sql.join('; ')).toContain(rule);
      for (const sql of passes) expect(rulesOf(await lint([sql], settings)), sql).not.toContain(rule);
    });
  }

  it('leaves the matters of taste off unless enabled, and documents every rule', async () => {
    expect(
      rulesOf(await lint(['CREATE TABLE t (at timestamp, n integer)'], { phase: 'post-deploy' })),
    ).toEqual([]);
    for (const name of ruleNames) {
      const definition: RuleDefinition = rules[name];
      expect(definition.firesOn && definition.why && definition.advice, name).toBeTruthy();
    }
  });

  it('breaking-change-before-deploy: what breaks the running version, in a pre-deploy revision only', async () => {
    const breaking = [
      'ALTER TABLE users DROP COLUMN name',
      'ALTER TABLE users RENAME COLUMN name TO full_name',
      'ALTER TABLE users ALTER COLUMN email SET NOT NULL',
      'ALTER TABLE users ALTER COLUMN id TYPE bigint',
      'ALTER TABLE users ALTER COLUMN plan DROP DEFAULT',
      'DROP TABLE sessions',
    ];
    for (const sql of breaking) {
      expect(rulesOf(await lint([sql])), sql).toContain('breaking-change-before-deploy');
      expect(rulesOf(await lint([sql], { phase: 'post-deploy' })), sql).not.toContain(
        'breaking-change-before-deploy',
      );
    }
    const compatible = [
      'ALTER TABLE users ADD COLUMN full_name text',
      "ALTER TABLE users ALTER COLUMN plan SET DEFAULT 'free'",
    ];
    for (const sql of compatible) expect(rulesOf(await lint([sql])), sql).toEqual([]);
    const [finding] = (await lint(['ALTER TABLE users DROP COLUMN name'])).filter(
      (f) => f.rule === 'breaking-change-before-deploy',
    );
    expect(finding?.advice).toContain('phase: post-deploy');
  });

  it('exempts tables created in the same revision from the rules about existing tables', async () => {
    const findings = await lint([
      'CREATE TABLE widgets (id int)',
      'CREATE INDEX ix_widgets ON widgets (id)',
      'ALTER TABLE widgets ADD COLUMN owner int NOT NULL',
      'ALTER TABLE widgets ADD CONSTRAINT fk FOREIGN KEY (owner) REFERENCES users (id)',
      'ALTER TABLE public.widgets ADD CONSTRAINT ck CHECK (id > 0)',
    ]);
    expect(findings).toEqual([]);
  });

  it('reports file, revision, statement and advice, and honours a written waiver', async () => {
    const [finding] = await lint(['CREATE INDEX ix ON users (email)']);
    expect(finding).toMatchObject({
      file: 'fixture.ts',
      revision: 'abc123',
      statement: 'CREATE INDEX ix ON users (email)',
      advice: expect.stringContaining('CONCURRENTLY'),
      waived: null,
    });
    const waived = await lint(['CREATE INDEX ix ON users (email)'], {
      lintWaivers: { 'create-index-non-concurrent': 'users has 20 rows' },
    });
    expect(waived[0]?.waived).toBe('users has 20 rows');
  });

  it('refuses a waiver for a rule that does not exist', async () => {
    await expect(lint(['SELECT 1'], { lintWaivers: { 'no-such-rule': 'because' } })).rejects.toThrow(
      /unknown lint rule "no-such-rule"/,
    );
  });
});
