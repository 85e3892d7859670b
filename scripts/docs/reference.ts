import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { globalOptions, type OptionSpec } from '../../src/cli/args.js';
import { commands } from '../../src/cli/main.js';
import { Reason, type ReasonName, reasonFor } from '../../src/controller/reasons.js';
import { type ErrorCode, errorCodes } from '../../src/migrator/index.js';
import type { RuleDefinition } from '../../src/migrator/lint/rule.js';
import { ruleNames, rules } from '../../src/migrator/lint/rules/index.js';
import { errorAdvice, reasonEntries } from './troubleshooting-entries.js';

/**
 * The reference parts of the documentation, generated from the code's own tables (the
 * CLI's commands and options, the CRDs' schemas, the error codes and condition reasons)
 * into docs/.generated/, which the pages include: they cannot drift from the code.
 */

/**
 * Markdown table cell text that VitePress (a Vue template) and the table both take
 * literally: outside code spans <, >, {, } are entities; inside them markdown-it escapes.
 */
export function cell(text: string): string {
  return text
    .split(/(`[^`]*`)/)
    .map((part, i) =>
      i % 2 === 1
        ? part
        : part
            .replaceAll('&', '&amp;')
            .replaceAll('<', '&lt;')
            .replaceAll('>', '&gt;')
            .replaceAll('{', '&#123;')
            .replaceAll('}', '&#125;'),
    )
    .join('')
    .replaceAll('|', '\\|')
    .replaceAll('\n', ' ');
}

function optionRows(options: OptionSpec): string[] {
  return Object.entries(options).map(([name, o]) => {
    const flag = `--${name}${o.type === 'string' ? ' <value>' : ''}${o.short ? `, -${o.short}` : ''}`;
    return `| \`${flag}\` | ${o.env ? `\`${o.env}\`` : ''} | ${cell(o.help)} |`;
  });
}

export function cliCommandsPage(): string {
  const lines: string[] = [];
  for (const [name, command] of Object.entries(commands)) {
    lines.push(`### revisor ${name}`, '', '```', command.usage, '```', '', cell(command.summary), '');
    if (Object.keys(command.options).length > 0) {
      lines.push(
        '| option | environment | meaning |',
        '| --- | --- | --- |',
        ...optionRows(command.options),
        '',
      );
    }
  }
  return `${lines.join('\n')}\n`;
}

export function cliGlobalOptionsPage(): string {
  return `| option | environment | meaning |\n| --- | --- | --- |\n${optionRows(globalOptions).join('\n')}\n`;
}

interface Schema {
  type?: string;
  description?: string;
  default?: unknown;
  enum?: unknown[];
  properties?: Record<string, Schema>;
  items?: Schema;
  additionalProperties?: Schema | boolean;
}

/** Every field of a CRD's schema, depth first, with its path as kubectl explain names it. */
export function crdFields(schema: Schema, path = ''): { path: string; schema: Schema }[] {
  const fields: { path: string; schema: Schema }[] = [];
  for (const [name, field] of Object.entries(schema.properties ?? {})) {
    const here = path ? `${path}.${name}` : name;
    fields.push({ path: here, schema: field });
    fields.push(...crdFields(field, here));
    if (field.items) fields.push(...crdFields(field.items, `${here}[]`));
  }
  return fields;
}

/** The API server forbids a description on metadata, which every resource has. */
const metadataDescription =
  "The object's name, namespace, labels and annotations (on a DatabaseMigration, revisor.dev/approved-plan approves a plan).";

export function crdPage(file: string): string {
  const crd = parse(readFileSync(file, 'utf8')) as {
    spec: {
      names: { kind: string; shortNames?: string[] };
      versions: { name: string; schema: { openAPIV3Schema: Schema } }[];
    };
  };
  const lines: string[] = [];
  for (const version of crd.spec.versions) {
    const root = version.schema.openAPIV3Schema;
    lines.push(
      `## ${crd.spec.names.kind} (revisor.dev/${version.name})`,
      '',
      cell(root.description ?? ''),
      '',
      '| field | type | default | description |',
      '| --- | --- | --- | --- |',
    );
    for (const { path, schema } of crdFields(root)) {
      const description = path === 'metadata' ? metadataDescription : (schema.description ?? '');
      const type =
        schema.type === 'array' ? `array of ${schema.items?.type ?? 'object'}` : (schema.type ?? 'object');
      const values = schema.enum ? ` One of: ${schema.enum.map(String).join(', ')}.` : '';
      const fallback = schema.default === undefined ? '' : `\`${JSON.stringify(schema.default)}\``;
      lines.push(`| \`${path}\` | ${type} | ${fallback} | ${cell(`${description}${values}`)} |`);
    }
    lines.push('');
  }
  return `${lines.join('\n')}\n`;
}

/** The anchor VitePress gives a heading: lower case, runs of other characters as one dash. */
export const anchorOf = (heading: string) =>
  heading
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '');

export function exitCodesPage(): string {
  const lines = [
    '| exit | error class | condition reason |',
    '| --- | --- | --- |',
    '| 0 | | done, or nothing to do |',
  ];
  const codes = Object.entries(errorCodes) as [ErrorCode, number][];
  for (const [code, exit] of codes) {
    const reason = reasonFor(code);
    lines.push(
      `| ${exit} | [\`${code}\`](#${anchorOf(`${code} exit ${exit}`)}) | [\`${reason}\`](#${anchorOf(reason)}) |`,
    );
  }
  lines.push('');
  for (const [code, exit] of codes) {
    lines.push(
      `### ${code} (exit ${exit})`,
      '',
      cell(errorAdvice[code]),
      '',
      `In the operator: reason [\`${reasonFor(code)}\`](#${anchorOf(reasonFor(code))}).`,
      '',
    );
  }
  return `${lines.join('\n')}\n`;
}

export function reasonsPage(): string {
  const lines: string[] = [];
  const codesBy = (reason: ReasonName) =>
    (Object.keys(errorCodes) as ErrorCode[]).filter((code) => reasonFor(code) === reason);
  for (const reason of Object.values(Reason)) {
    const entry = reasonEntries[reason];
    const codes = codesBy(reason);
    lines.push(`### ${reason}`, '', cell(entry.means), '');
    if (entry.action) lines.push(`**What to do:** ${cell(entry.action)}`, '');
    if (codes.length > 0)
      lines.push(
        `From the error class${codes.length > 1 ? 'es' : ''} ${codes.map((c) => `[\`${c}\`](#${anchorOf(`${c} exit ${errorCodes[c]}`)})`).join(', ')}.`,
        '',
      );
  }
  return `${lines.join('\n')}\n`;
}

/** Other linters' checks that have no revisor rule, and why. */
export const notApplicable: readonly { readonly check: string; readonly why: string }[] = [
  {
    check: 'squawk require-lock-timeout',
    why: 'revisor sets lock_timeout on every step itself (`--lock-timeout`, doubled on each retry)',
  },
  {
    check: 'squawk require-statement-timeout',
    why: 'revisor sets statement_timeout on every step itself (`--statement-timeout`, `spec.statementTimeoutSeconds`)',
  },
  {
    check: 'strong_migrations change_column_default',
    why: "it guards against Rails' partial writes; revisor's own check is the dropped default in `breaking-change-before-deploy`",
  },
  {
    check: 'strong_migrations execute',
    why: "every revision is SQL that revisor parses with PostgreSQL's parser and lints statement by statement",
  },
];

export function lintRulesPage(): string {
  const lines: string[] = [
    '| rule | severity | on by default | fires on |',
    '| --- | --- | --- | --- |',
    ...ruleNames.map((name) => {
      const rule: RuleDefinition = rules[name];
      return `| [\`${name}\`](#${anchorOf(name)}) | ${rule.severity} | ${rule.taste ? 'no (taste)' : 'yes'} | ${cell(rule.firesOn)} |`;
    }),
    '',
  ];
  for (const name of ruleNames) {
    const rule: RuleDefinition = rules[name];
    lines.push(
      `### ${name}`,
      '',
      `**Fires on** ${cell(rule.firesOn)}. **Why it hurts:** ${cell(rule.why)}.`,
      '',
      `**Instead:** ${cell(rule.advice)}.`,
      '',
      `Severity ${rule.severity}${rule.taste ? '; a matter of taste, off unless `revisor-lint.json` enables it' : ''}.` +
        (rule.aka.length ? ` Elsewhere: ${rule.aka.map((a) => cell(a)).join(', ')}.` : ''),
      '',
    );
  }
  lines.push('## From squawk and strong_migrations', '', '| their check | revisor rule |', '| --- | --- |');
  const mapped = ruleNames.flatMap((name) => rules[name].aka.map((aka) => [aka, name] as const));
  for (const [aka, name] of mapped.sort(([a], [b]) => a.localeCompare(b)))
    lines.push(`| ${cell(aka)} | [\`${name}\`](#${anchorOf(name)}) |`);
  for (const { check, why } of notApplicable) lines.push(`| ${cell(check)} | does not apply: ${cell(why)} |`);
  return `${lines.join('\n')}\n`;
}

export function writeReference(docsDir: string, crdDir: string): string[] {
  const out = join(docsDir, '.generated');
  mkdirSync(out, { recursive: true });
  const pages: Record<string, string> = {
    'cli-commands.md': cliCommandsPage(),
    'cli-global-options.md': cliGlobalOptionsPage(),
    'crd-databasemigration.md': crdPage(join(crdDir, 'revisor.dev_databasemigrations.yaml')),
    'crd-databasemigrationset.md': crdPage(join(crdDir, 'revisor.dev_databasemigrationsets.yaml')),
    'exit-codes.md': exitCodesPage(),
    'reasons.md': reasonsPage(),
    'lint-rules.md': lintRulesPage(),
  };
  for (const [name, text] of Object.entries(pages)) writeFileSync(join(out, name), text);
  return Object.keys(pages);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const root = join(import.meta.dirname, '../../..');
  writeReference(join(root, 'docs'), join(root, 'deploy/crds'));
}
