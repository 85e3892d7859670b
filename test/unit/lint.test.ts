import { parse } from 'libpg-query';
import { describe, expect, it } from 'vitest';
import { fromDefinition } from '../../src/migrator/chain/loader.js';
import { type Finding, lintMigration } from '../../src/migrator/lint/lint.js';

async function lint(
  sql: string[],
  options: {
    transactional?: boolean;
    lintWaivers?: Record<string, string>;
    phase?: 'pre-deploy' | 'post-deploy';
  } = {},
) {
  const migration = fromDefinition(
    {
      revision: 'abc123',
      downRevision: null,
      message: 'm',
      ...options,
      upgrade: (op) => {
        for (const s of sql) op.execute(s);
      },
      downgrade: () => undefined,
    },
    'fixture.ts',
  );
  return lintMigration(migration, parse);
}

const rulesOf = (findings: Finding[]) => findings.map((f) => f.rule);

describe('lint rules fire on risky SQL and stay quiet on its safe equivalent', () => {
  const cases: [string, string[], string[], { transactional?: boolean }?][] = [
    [
      'create-index-non-concurrent',
      ['CREATE INDEX ix ON users (email)'],
      ['CREATE INDEX CONCURRENTLY ix ON users (email)'],
      { transactional: false },
    ],
    [
      'add-column-not-null-no-default',
      ['ALTER TABLE users ADD COLUMN plan text NOT NULL'],
      ["ALTER TABLE users ADD COLUMN plan text NOT NULL DEFAULT 'free'"],
    ],
    [
      'add-foreign-key-validated',
      ['ALTER TABLE users ADD CONSTRAINT fk FOREIGN KEY (org_id) REFERENCES orgs (id)'],
      ['ALTER TABLE users ADD CONSTRAINT fk FOREIGN KEY (org_id) REFERENCES orgs (id) NOT VALID'],
    ],
    [
      'add-check-validated',
      ['ALTER TABLE users ADD CONSTRAINT ck CHECK (age > 0)'],
      ['ALTER TABLE users ADD CONSTRAINT ck CHECK (age > 0) NOT VALID'],
    ],
    [
      'alter-column-type',
      ['ALTER TABLE users ALTER COLUMN id TYPE bigint'],
      ['ALTER TABLE users ALTER COLUMN id SET DEFAULT 1'],
    ],
    ['rename-table', ['ALTER TABLE users RENAME TO people'], ['CREATE VIEW people AS SELECT * FROM users']],
    [
      'rename-column',
      ['ALTER TABLE users RENAME COLUMN name TO full_name'],
      ['ALTER TABLE users ADD COLUMN full_name text'],
    ],
    ['drop-table', ['DROP TABLE users'], ['DROP VIEW IF EXISTS people']],
    [
      'drop-column',
      ['ALTER TABLE users DROP COLUMN name'],
      ['ALTER TABLE users ALTER COLUMN name DROP NOT NULL'],
    ],
    [
      'concurrently-in-transaction',
      ['CREATE INDEX CONCURRENTLY ix ON users (email)'],
      ['CREATE INDEX CONCURRENTLY ix ON users (email)'],
      { transactional: false },
    ],
  ];

  for (const [rule, risky, safe, safeOptions] of cases) {
    it(rule, async () => {
      // Post-deploy, so the rule about the running application version stays out of it.
      const risk = rule === 'concurrently-in-transaction' ? { transactional: true } : (safeOptions ?? {});
      expect(rulesOf(await lint(risky, { ...risk, phase: 'post-deploy' }))).toEqual([rule]);
      expect(rulesOf(await lint(safe, { ...safeOptions, phase: 'post-deploy' }))).toEqual([]);
    });
  }

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
