import { describe, expect, it } from 'vitest';
import { runCli, sqlMigration, writeChain } from '../support/cli.js';
import { adminUrl, connect } from '../support/db.js';

const env = () => ({ DATABASE_URL: adminUrl() });

describe('revisor check', () => {
  it('passes the staircase on the embedded chain and drops its scratch database', async () => {
    const result = await runCli(['check'], env());
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('check: 3 revision(s), head c0b7d0e366e7');
    const db = await connect(adminUrl());
    const { rows } = await db.query(
      "SELECT count(*)::int AS n FROM pg_database WHERE datname LIKE 'revisor_check_%'",
    );
    expect(rows[0].n).toBe(0);
  });

  it('catches a downgrade that forgets an index and prints the diff', async () => {
    const dir = await writeChain({
      '1.sql': sqlMigration(
        'base1',
        null,
        'CREATE TABLE items (id int PRIMARY KEY, sku text);',
        'DROP TABLE items;',
      ),
      '2.sql': sqlMigration(
        'idx2',
        'base1',
        'CREATE INDEX ix_items_sku ON items (sku);\nALTER TABLE items ADD COLUMN price numeric(10,2) DEFAULT 0;',
        'ALTER TABLE items DROP COLUMN price;',
      ),
    });
    const result = await runCli(['check', '--migrations', dir], env());
    expect(result.code).toBe(30);
    expect(result.stdout).toContain('the downgrade of idx2');
    expect(result.stdout).toContain(
      '+ index public.ix_items_sku CREATE INDEX ix_items_sku ON public.items USING btree (sku)',
    );
    expect(result.stderr).toContain('[CheckFailed]');
    expect(result.stderr).toContain('first at idx2');
  });

  it('catches a downgrade that restores a column differently', async () => {
    const dir = await writeChain({
      '1.sql': sqlMigration(
        'base1',
        null,
        'CREATE TABLE items (id int, sku varchar(20) NOT NULL);',
        'DROP TABLE items;',
      ),
      '2.sql': sqlMigration(
        'wide2',
        'base1',
        'ALTER TABLE items ALTER COLUMN sku TYPE text;',
        'ALTER TABLE items ALTER COLUMN sku TYPE varchar(40);',
      ),
    });
    const result = await runCli(['check', '--migrations', dir, '--json'], env());
    expect(result.code).toBe(30);
    const { issues } = JSON.parse(result.stdout);
    expect(issues).toEqual([
      expect.objectContaining({
        kind: 'downgrade-trace',
        revision: 'wide2',
        diff: [
          '- column public.items.sku character varying(20) NOT NULL',
          '+ column public.items.sku character varying(40) NOT NULL',
        ],
      }),
    ]);
  });

  it('refuses several heads unless declared, and a revision without a downgrade', async () => {
    const dir = await writeChain({
      'a.sql': sqlMigration('a1', null, 'CREATE TABLE a (id int);', 'DROP TABLE a;'),
      'b.sql': sqlMigration('b1', 'a1', 'CREATE TABLE b (id int);', 'DROP TABLE b;'),
      'c.sql': sqlMigration('c1', 'a1', 'CREATE TABLE c (id int);', ''),
    });
    const result = await runCli(['check', '--migrations', dir], env());
    expect(result.code).toBe(30);
    expect(result.stdout).toContain('2 heads (b1, c1)');
    expect(result.stdout).toContain('c1 (');
    expect(result.stdout).toContain('has an upgrade but no downgrade');

    const declared = await runCli(['check', '--migrations', dir, '--heads', 'b1,c1'], env());
    expect(declared.stdout).not.toContain('heads');
    expect(declared.stdout).toContain('has an upgrade but no downgrade');
  });
});

describe('revisor lint', () => {
  it('passes the embedded chain through its written waivers', async () => {
    // Waived findings are counted; listing them is asked for.
    const quiet = await runCli(['lint']);
    expect(quiet.code).toBe(0);
    expect(quiet.stdout.trim()).toBe('lint: 3 revision(s), 0 finding(s), 9 waived (--show-all lists them)');
    const result = await runCli(['lint', '--show-all']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('567cc0f251e5: error create-index-non-concurrent (waived)');
    // Findings name the file the user wrote, relative to where lint runs (the repository
    // here), not the build output (its source map says which).
    expect(result.stdout).toMatch(
      // …at the line of the op call that made the statement (op.createIndex), through the build's source map.
      /^migrations\/20251018_0355_567cc0f251e5_add_session_templates_table\.ts:73: 567cc0f251e5: error create-index-non-concurrent \(waived\)/m,
    );
    expect(result.stdout).not.toContain('dist/migrations/');
  });

  it('fails on an unwaived finding and names file, line, revision, statement and advice', async () => {
    const dir = await writeChain({
      '1.sql': sqlMigration('base1', null, 'CREATE TABLE items (id int);', 'DROP TABLE items;'),
      '2.sql': sqlMigration(
        'risky2',
        'base1',
        'SELECT 1;\nCREATE INDEX ix_items_id ON items (id);',
        'DROP INDEX ix_items_id;',
      ),
    });
    const result = await runCli(['lint', '--migrations', dir]);
    expect(result.code).toBe(31);
    expect(result.stdout).toMatch(
      /2\.sql:6: risky2: error create-index-non-concurrent: CREATE INDEX on existing table items/,
    );
    expect(result.stdout).toContain('statement: CREATE INDEX ix_items_id ON items (id)');
    expect(result.stdout).toContain('advice: CREATE INDEX CONCURRENTLY');
    expect(result.stderr).toContain('[LintFailed]');
  });

  it('refuses an unknown --format or --fail-on before it reads anything', async () => {
    const format = await runCli(['lint', '--format', 'xml']);
    expect(format.code).toBe(2);
    expect(format.stderr).toContain('--format must be one of text, json, github, sarif, not "xml"');
    const failOn = await runCli(['lint', '--fail-on', 'sometimes']);
    expect(failOn.code).toBe(2);
    expect(failOn.stderr).toContain('--fail-on must be one of error, warning, never, not "sometimes"');
    expect(failOn.stdout).toBe('');
  });

  it('accepts a waiver written in a SQL header', async () => {
    const dir = await writeChain({
      '1.sql': sqlMigration('base1', null, 'CREATE TABLE items (id int);', 'DROP TABLE items;'),
      '2.sql': [
        '-- revision: risky2',
        '-- down_revision: base1',
        '-- lint_waive: drop-column: the column was never read',
        '-- phase: post-deploy',
        '-- migrate:upgrade',
        'ALTER TABLE items DROP COLUMN id;',
        '-- migrate:downgrade',
        'ALTER TABLE items ADD COLUMN id int;',
      ].join('\n'),
    });
    const result = await runCli(['lint', '--migrations', dir, '--show-all']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('waived: the column was never read');
  });
});
