import {
  type FailOn,
  type Finding,
  failsAt,
  isSettled,
  type RuleDefinition,
  type RuleName,
} from '../migrator/index.js';

/** Pure renderings of lint findings: for a person, for GitHub's annotations, as SARIF 2.1.0. */

/** Findings that fail the run: not settled, at or above fail-on. */
export function failing(findings: readonly Finding[], failOn: FailOn): Finding[] {
  return findings.filter((f) => failsAt(f, failOn));
}

export function textReport(
  findings: readonly Finding[],
  summary: { revisions: number; pending: boolean; showAll: boolean },
): string[] {
  const lines: string[] = [];
  for (const f of findings) {
    if (isSettled(f) && !summary.showAll) continue;
    const where = `${f.file}${f.line ? `:${f.line}` : ''}`;
    const state = f.waived ? ' (waived)' : f.there?.harmless ? ' (harmless there)' : '';
    lines.push(`${where}: ${f.revision}: ${f.severity} ${f.rule}${state}: ${f.message}`);
    lines.push(`    statement: ${f.statement.split('\n')[0]}${f.statement.includes('\n') ? ' …' : ''}`);
    if (f.there) lines.push(`    there: ${f.there.text}`);
    lines.push(f.waived ? `    waived: ${f.waived}` : `    advice: ${f.advice}`);
  }
  const open = findings.filter((f) => !isSettled(f));
  const waived = findings.filter((f) => f.waived !== null).length;
  const harmless = findings.filter((f) => f.waived === null && f.there?.harmless).length;
  const hidden = !summary.showAll && open.length < findings.length ? ' (--show-all lists them)' : '';
  lines.push(
    `lint: ${summary.revisions} ${summary.pending ? 'pending ' : ''}revision(s), ${open.length} finding(s), ${waived} waived` +
      (summary.pending ? `, ${harmless} harmless on this database` : '') +
      hidden,
  );
  return lines;
}

/** GitHub Actions workflow commands: each open finding becomes an inline annotation on its line. */
export function githubReport(findings: readonly Finding[]): string[] {
  const escapeData = (s: string) => s.replaceAll('%', '%25').replaceAll('\r', '%0D').replaceAll('\n', '%0A');
  const escapeProperty = (s: string) => escapeData(s).replaceAll(':', '%3A').replaceAll(',', '%2C');
  return findings
    .filter((f) => !isSettled(f))
    .map((f) => {
      const properties = [`file=${escapeProperty(f.file)}`, ...(f.line ? [`line=${f.line}`] : [])];
      properties.push(`title=${escapeProperty(`revisor lint: ${f.rule}`)}`);
      const text = [f.message, ...(f.there ? [f.there.text] : []), `Advice: ${f.advice}`].join('\n');
      return `::${f.severity} ${properties.join(',')}::${escapeData(text)}`;
    });
}

/** SARIF 2.1.0 (what GitHub code scanning and other CI systems read), with every rule's description. */
export function sarifReport(
  findings: readonly Finding[],
  rules: Readonly<Record<RuleName, RuleDefinition>>,
  version: string,
): object {
  const names = Object.keys(rules) as RuleName[];
  return {
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    version: '2.1.0',
    runs: [
      {
        tool: {
          driver: {
            name: 'revisor',
            version,
            rules: names.map((name) => ({
              id: name,
              shortDescription: { text: rules[name].firesOn },
              fullDescription: { text: rules[name].why },
              help: { text: rules[name].advice },
              defaultConfiguration: { level: rules[name].severity, enabled: !rules[name].taste },
            })),
          },
        },
        results: findings.map((f) => ({
          ruleId: f.rule,
          ruleIndex: names.indexOf(f.rule),
          level: f.severity,
          message: { text: [f.message, ...(f.there ? [f.there.text] : [])].join('; ') },
          locations: [
            {
              physicalLocation: {
                // A URI reference: a path with a space or a # must be escaped.
                artifactLocation: { uri: encodeURI(f.file).replaceAll('#', '%23') },
                ...(f.line ? { region: { startLine: f.line } } : {}),
              },
            },
          ],
          ...(f.waived !== null || f.there?.harmless
            ? {
                suppressions: [
                  f.waived !== null
                    ? { kind: 'inSource', justification: f.waived }
                    : { kind: 'external', justification: f.there?.text ?? '' },
                ],
              }
            : {}),
          properties: { revision: f.revision, statement: f.statement },
        })),
      },
    ],
  };
}
