import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { failing, githubReport, sarifReport, textReport } from '../../src/cli/lint-report.js';
import type { Finding } from '../../src/migrator/lint/lint.js';
import { rules } from '../../src/migrator/lint/rules/index.js';

const finding = (overrides: Partial<Finding> = {}): Finding => ({
  rule: 'alter-column-type',
  severity: 'error',
  revision: 'ab12cd34ef56',
  file: 'migrations/2026_ab12cd34ef56_widen, events.sql',
  line: 7,
  statement: 'ALTER TABLE events ALTER COLUMN payload TYPE text',
  message: 'changing the type of events.payload rewrites the table under an ACCESS EXCLUSIVE lock',
  advice: rules['alter-column-type'].advice,
  waived: null,
  cost: { table: 'events', work: 'rewrite', lock: 'ACCESS EXCLUSIVE' },
  there: { harmless: false, text: 'rewrites events (≈ 48 M rows, 31 GB) under ACCESS EXCLUSIVE' },
  ...overrides,
});

const findings = [
  finding(),
  finding({ rule: 'drop-index-non-concurrent', severity: 'warning', cost: null, there: null, line: null }),
  finding({
    rule: 'create-index-non-concurrent',
    there: { harmless: true, text: 'harmless there: flags is small' },
  }),
  finding({ rule: 'drop-column', waived: 'nobody reads it since 1.4', cost: null, there: null }),
];

describe('lint reports', () => {
  it('fail only on open findings at or above --fail-on', () => {
    expect(failing(findings, 'error').map((f) => f.rule)).toEqual(['alter-column-type']);
    expect(failing(findings, 'warning').map((f) => f.rule)).toEqual([
      'alter-column-type',
      'drop-index-non-concurrent',
    ]);
    expect(failing(findings, 'never')).toEqual([]);
  });

  it('GitHub annotations: one per open finding, on its file and line, properties escaped', () => {
    expect(githubReport(findings)).toEqual([
      '::error file=migrations/2026_ab12cd34ef56_widen%2C events.sql,line=7,title=revisor lint%3A alter-column-type::' +
        'changing the type of events.payload rewrites the table under an ACCESS EXCLUSIVE lock%0A' +
        'rewrites events (≈ 48 M rows, 31 GB) under ACCESS EXCLUSIVE%0A' +
        `Advice: ${rules['alter-column-type'].advice}`,
      '::warning file=migrations/2026_ab12cd34ef56_widen%2C events.sql,title=revisor lint%3A drop-index-non-concurrent::' +
        'changing the type of events.payload rewrites the table under an ACCESS EXCLUSIVE lock%0A' +
        `Advice: ${rules['alter-column-type'].advice}`,
    ]);
  });

  it('text: what it costs there, settled findings counted and listed on request', () => {
    const lines = textReport(findings, { revisions: 2, pending: true, showAll: false });
    expect(lines).toContain('    there: rewrites events (≈ 48 M rows, 31 GB) under ACCESS EXCLUSIVE');
    expect(lines.at(-1)).toBe(
      'lint: 2 pending revision(s), 2 finding(s), 1 waived, 1 harmless on this database (--show-all lists them)',
    );
    expect(lines.join('\n')).not.toContain('drop-column');
    expect(textReport(findings, { revisions: 2, pending: true, showAll: true }).join('\n')).toContain(
      'error drop-column (waived)',
    );
  });

  it('SARIF 2.1.0 that validates against its schema, settled findings as suppressions', () => {
    const require = createRequire(import.meta.url);
    const schema = JSON.parse(
      readFileSync(require.resolve('@microsoft/jest-sarif/lib/schemas/sarif-2.1.0-rtm.5.json'), 'utf8'),
    );
    // CommonJS packages: their module.exports is the class and the function.
    const Ajv = require('ajv-draft-04') as typeof import('ajv-draft-04').default;
    const addFormats = require('ajv-formats') as typeof import('ajv-formats').default;
    // The schema's language-tag pattern is not valid with the u flag Ajv uses by default.
    const ajv = new Ajv({ allErrors: true, strict: false, unicodeRegExp: false });
    addFormats(ajv);
    const validate = ajv.compile(schema);
    const log = sarifReport(findings, rules, '0.1.0') as {
      runs: {
        results: { ruleId: string; suppressions?: { kind: string }[] }[];
        tool: { driver: { rules: unknown[] } };
      }[];
    };
    expect(validate(log), JSON.stringify(validate.errors)).toBe(true);
    expect(log.runs[0]!.tool.driver.rules).toHaveLength(Object.keys(rules).length);
    expect(log.runs[0]!.results.map((r) => r.suppressions?.[0]?.kind ?? null)).toEqual([
      null,
      null,
      'external',
      'inSource',
    ]);
    // Something the schema refuses does fail: the validation is real.
    expect(validate({ ...log, version: '2.0.0' })).toBe(false);
  });
});
