import { z } from 'zod';
import { RevisorError } from '../errors/errors.js';
import { defaultThresholds, type Thresholds } from './judge.js';
import { defaultRules, isRuleName, type RuleName, ruleNames } from './rules/index.js';

/** The one place a chain configures its lint: revisor-lint.json beside its revision files. */
export const lintConfigFile = 'revisor-lint.json';

export interface LintConfig {
  readonly enabled: ReadonlySet<RuleName>;
  readonly thresholds: Thresholds;
}

const schema = z
  .object({
    /** Rules to turn on: the matters of taste are off by default. */
    enable: z.array(z.string()).default([]),
    /** Rules to turn off for the whole chain (a waiver turns one off for one revision). */
    disable: z.array(z.string()).default([]),
    /** Against a database: a table with at most this many rows is small, its findings harmless. */
    smallTableRows: z.number().int().nonnegative().default(defaultThresholds.smallTableRows),
  })
  .strict();

export const defaultLintConfig: LintConfig = { enabled: defaultRules, thresholds: defaultThresholds };

export function lintConfigFrom(json: unknown, source: string): LintConfig {
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new RevisorError(
      'Usage',
      `${source}: ${issue?.path.join('.') || 'the file'}: ${issue?.message ?? 'invalid'} (keys: enable, disable, smallTableRows)`,
    );
  }
  const unknown = [...parsed.data.enable, ...parsed.data.disable].filter((name) => !isRuleName(name));
  if (unknown.length > 0)
    throw new RevisorError(
      'Usage',
      `${source}: unknown lint rule ${unknown.map((n) => `"${n}"`).join(', ')} (known: ${ruleNames.join(', ')})`,
    );
  const enabled = new Set(defaultRules);
  for (const name of parsed.data.enable as RuleName[]) enabled.add(name);
  for (const name of parsed.data.disable as RuleName[]) enabled.delete(name);
  return { enabled, thresholds: { smallTableRows: parsed.data.smallTableRows } };
}
