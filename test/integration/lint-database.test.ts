import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli, sqlMigration, writeChain } from '../support/cli.js';
import { connect, createTestDatabase } from '../support/db.js';

describe('revisor lint against a database', () => {
  it("judges the pending plan by the tables' statistics: the cost on a big table, harmless on a small or new one", async () => {
    const url = await createTestDatabase();
    const dir = await writeChain({
      '1.sql': sqlMigration(
        'tables1',
        null,
        'CREATE TABLE events (id bigint PRIMARY KEY, payload varchar(40)); CREATE TABLE flags (id bigint, name text);',
        'DROP TABLE flags; DROP TABLE events;',
      ),
      '2.sql': sqlMigration(
        'widen2',
        'tables1',
        [
          'ALTER TABLE events ALTER COLUMN payload TYPE text;',
          'CREATE INDEX ix_flags_name ON flags (name);',
          'CREATE TABLE audit (id bigint, at timestamptz);',
        ].join('\n'),
        'DROP TABLE audit; DROP INDEX ix_flags_name;',
      ),
      '3.sql': sqlMigration(
        'audit3',
        'widen2',
        'ALTER TABLE audit ADD CONSTRAINT ck_audit_at CHECK (at IS NOT NULL); CREATE INDEX ix_audit_at ON audit (at);',
        'ALTER TABLE audit DROP CONSTRAINT ck_audit_at; DROP INDEX ix_audit_at;',
      ),
    });
    expect((await runCli(['upgrade', 'tables1', '--migrations', dir], { DATABASE_URL: url })).code).toBe(0);
    const db = await connect(url);
    try {
      await db.query(
        "INSERT INTO events SELECT g, md5(g::text) FROM generate_series(1, 2000000) g; INSERT INTO flags SELECT g, 'f' || g FROM generate_series(1, 40) g",
      );
      await db.query('ANALYZE events; ANALYZE flags');
    } finally {
      await db.end();
    }

    const there = await runCli(['lint', '--migrations', dir, '--show-all'], { DATABASE_URL: url });
    expect(there.code, there.stderr).toBe(31);
    expect(there.stdout).toMatch(
      /2\.sql:\d+: widen2: error alter-column-type: changing the type of events\.payload[^\n]*\n[^\n]*\n {4}there: rewrites events \(≈ 2\.0 M rows, \d+ MB\) and rebuilds its 1 index\(es\) under ACCESS EXCLUSIVE/,
    );
    expect(there.stdout).toMatch(
      /widen2: error create-index-non-concurrent \(harmless there\)[^\n]*\n[^\n]*\n {4}there: harmless there: flags is small \(≈ 40 rows, \d+ kB\)/,
    );
    // audit is created by an earlier step of the same plan: new, so nothing about it.
    expect(there.stdout).not.toContain('audit3');
    expect(there.stdout).toContain(
      'lint: 2 pending revision(s), 2 finding(s), 0 waived, 1 harmless on this database',
    );

    // A lower threshold makes flags count; without a database each revision is judged alone.
    const strict = await runCli(['lint', '--migrations', dir, '--small-table', '10', '--format', 'json'], {
      DATABASE_URL: url,
    });
    const findings = (
      JSON.parse(strict.stdout) as { findings: { rule: string; there: { harmless: boolean } }[] }
    ).findings;
    // (SQL revisions are pre-deploy unless they say otherwise: the type change also breaks the running version.)
    expect(findings.map((f) => [f.rule, f.there?.harmless])).toEqual([
      ['alter-column-type', false],
      ['breaking-change-before-deploy', undefined],
      ['create-index-non-concurrent', false],
    ]);
    const offline = await runCli(['lint', '--migrations', dir, '--format', 'json']);
    const offlineRules = JSON.parse(offline.stdout) as {
      pending: boolean;
      findings: { rule: string; revision: string }[];
    };
    expect(offlineRules.pending).toBe(false);
    expect(offlineRules.findings.map((f) => `${f.revision} ${f.rule}`)).toEqual([
      'widen2 alter-column-type',
      'widen2 breaking-change-before-deploy',
      'widen2 create-index-non-concurrent',
      'audit3 add-check-validated',
      'audit3 create-index-non-concurrent',
    ]);

    // The chain's one config place: a taste rule enabled, a rule disabled.
    await writeFile(
      join(dir, 'revisor-lint.json'),
      JSON.stringify({ enable: ['prefer-text'], disable: ['create-index-non-concurrent'] }),
    );
    const configured = await runCli(['lint', '--migrations', dir, '--format', 'json', '--fail-on', 'never']);
    expect(configured.code).toBe(0);
    expect(
      (JSON.parse(configured.stdout) as { findings: { rule: string }[] }).findings.map((f) => f.rule),
    ).toEqual(['prefer-text', 'alter-column-type', 'breaking-change-before-deploy', 'add-check-validated']);
    await writeFile(join(dir, 'revisor-lint.json'), JSON.stringify({ enable: ['no-such-rule'] }));
    const bad = await runCli(['lint', '--migrations', dir]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('unknown lint rule "no-such-rule"');
  }, 120_000);
});
