import { execFile as execFileCb } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { anchorOf, crdFields } from '../../scripts/docs/reference.js';
import { globalOptions } from '../../src/cli/args.js';
import { commands } from '../../src/cli/main.js';
import { Reason } from '../../src/controller/reasons.js';
import { errorCodes } from '../../src/migrator/index.js';
import { ruleNames } from '../../src/migrator/lint/rules/index.js';
import { repoRoot } from '../support/cli.js';

const execFile = promisify(execFileCb);
const docs = join(repoRoot, 'docs');
let site = '';
const page = (name: string) => readFileSync(join(site, `${name}.html`), 'utf8');
const ids = (html: string) => new Set([...html.matchAll(/\sid="([^"]+)"/g)].map((m) => m[1]!));

/** The documentation site as npm run docs builds it: reference pages generated, then VitePress. */
beforeAll(async () => {
  site = await mkdtemp(join(tmpdir(), 'revisor-docs-'));
  await execFile(process.execPath, [join(repoRoot, 'dist/scripts/docs/reference.js')]);
  // VitePress fails the build on a link to a page that does not exist.
  await execFile(join(repoRoot, 'node_modules/.bin/vitepress'), ['build', 'docs', '--outDir', site], {
    cwd: repoRoot,
  });
  return () => rm(site, { recursive: true, force: true });
}, 120_000);

describe('the documentation site', () => {
  it('builds every page, and every internal link reaches a page and an anchor on it', () => {
    const pages = readdirSync(docs)
      .filter((f) => f.endsWith('.md'))
      .map((f) => f.slice(0, -3));
    expect(pages.length).toBeGreaterThanOrEqual(15);
    const broken: string[] = [];
    for (const name of pages) {
      const html = page(name);
      for (const [, href] of html.matchAll(/<a [^>]*href="([^"]+)"/g)) {
        if (!href || /^(https?:|mailto:)/.test(href) || href.startsWith('/assets/')) continue;
        const [path = '', anchor] = href.split('#');
        const target =
          path === '' ? name : path === '/' ? 'index' : path.replace(/^\//, '').replace(/\.html$/, '');
        if (!existsSync(join(site, `${target}.html`))) broken.push(`${name}: ${href} (no page)`);
        else if (anchor && !ids(page(target)).has(decodeURIComponent(anchor)))
          broken.push(`${name}: ${href} (no anchor)`);
      }
    }
    expect(broken).toEqual([]);
  });

  it('the README links to documentation pages that exist', () => {
    const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');
    const links = [...readme.matchAll(/\]\((docs\/[^)#]*)\)/g)].map((m) => m[1]!);
    expect(links.length).toBeGreaterThan(10);
    expect(links.filter((l) => !existsSync(join(repoRoot, l)))).toEqual([]);
  });

  it('documents every command and every option', () => {
    const html = page('cli');
    const anchors = ids(html);
    const missing: string[] = [];
    for (const [name, command] of Object.entries(commands)) {
      if (!anchors.has(anchorOf(`revisor ${name}`))) missing.push(`command ${name}`);
      for (const option of Object.keys(command.options))
        if (!html.includes(`--${option}`)) missing.push(`${name} --${option}`);
    }
    for (const option of Object.keys(globalOptions))
      if (!html.includes(`--${option}`)) missing.push(`--${option}`);
    expect(missing).toEqual([]);
  });

  it('documents every CRD field, each with a description of its own', () => {
    const html = page('crd');
    const undocumented: string[] = [];
    for (const file of readdirSync(join(repoRoot, 'deploy/crds'))) {
      const crd = parse(readFileSync(join(repoRoot, 'deploy/crds', file), 'utf8'));
      for (const version of crd.spec.versions)
        for (const { path, schema } of crdFields(version.schema.openAPIV3Schema)) {
          // The API server refuses a description on metadata; the page describes it.
          if (path !== 'metadata' && !schema.description?.trim())
            undocumented.push(`${file}: ${path} (no description)`);
          if (!html.includes(`<code>${path}</code>`)) undocumented.push(`${file}: ${path} (not on the page)`);
        }
    }
    expect(undocumented).toEqual([]);
  });

  it('documents every lint rule, and maps every squawk and strong_migrations check to one or says why it does not apply', () => {
    const html = page('lint');
    const anchors = ids(html);
    expect(ruleNames.filter((name) => !anchors.has(anchorOf(name)))).toEqual([]);
    // The checks the linters teams already run have (squawk 2.x, strong_migrations 2.8).
    const theirs = [
      ...[
        'adding-field-with-default',
        'adding-foreign-key-constraint',
        'adding-not-nullable-field',
        'adding-required-field',
        'adding-serial-primary-key-field',
        'ban-alter-domain-with-add-constraint',
        'ban-char-field',
        'ban-concurrent-index-creation-in-transaction',
        'ban-create-domain-with-constraint',
        'ban-drop-column',
        'ban-drop-database',
        'ban-drop-not-null',
        'ban-drop-table',
        'ban-duplicate-column-assignments',
        'ban-truncate-cascade',
        'ban-uncommitted-transaction',
        'changing-column-type',
        'constraint-missing-not-valid',
        'disallowed-unique-constraint',
        'identifier-too-long',
        'prefer-bigint-over-int',
        'prefer-bigint-over-smallint',
        'prefer-identity',
        'prefer-repack',
        'prefer-robust-stmts',
        'prefer-text-field',
        'prefer-timestamptz',
        'renaming-column',
        'renaming-table',
        'require-concurrent-index-creation',
        'require-concurrent-index-deletion',
        'require-concurrent-partition-detach',
        'require-concurrent-reindex',
        'require-enum-value-ordering',
        'require-lock-timeout',
        'require-statement-timeout',
        'require-table-schema',
        'transaction-nesting',
      ].map((name) => `squawk ${name}`),
      ...[
        'rename_schema',
        'rename_enum_value',
        'add_column_generated_stored',
        'add_column_json',
        'add_column_default',
        'add_exclusion_constraint',
        'add_index with more than 3 columns',
        'change_column_default',
        'change_column_null',
        'backfilling in the same transaction as DDL',
        'execute',
      ].map((name) => `strong_migrations ${name}`),
    ];
    const rows = new Set([...html.matchAll(/<tr><td>([^<]+)<\/td>/g)].map((m) => m[1]));
    expect(theirs.filter((check) => !rows.has(check))).toEqual([]);
  });

  it('has a troubleshooting entry for every exit code and every condition reason', () => {
    const anchors = ids(page('troubleshooting'));
    const missing = [
      ...Object.entries(errorCodes).map(([code, exit]) => anchorOf(`${code} exit ${exit}`)),
      ...Object.values(Reason).map((reason) => anchorOf(reason)),
    ].filter((anchor) => !anchors.has(anchor));
    expect(missing).toEqual([]);
  });
});
