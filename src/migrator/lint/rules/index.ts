import type { Hit, RuleDefinition, StatementContext } from '../rule.js';
import type { Node } from '../tree.js';
import { breakingRules } from './breaking.js';
import { concurrencyRules } from './concurrency.js';
import { hygieneRules } from './hygiene.js';
import { rewriteRules } from './rewrites.js';

/** Every lint rule, by its stable name (waivers and the lint config name rules by it). */
export const rules = {
  ...concurrencyRules,
  ...rewriteRules,
  ...breakingRules,
  ...hygieneRules,
} satisfies Record<string, RuleDefinition>;

export type RuleName = keyof typeof rules;

export const ruleNames = Object.keys(rules) as RuleName[];

export const isRuleName = (name: string): name is RuleName => name in rules;

/** The rules on unless a chain's lint config says otherwise: all but the matters of taste. */
export const defaultRules: ReadonlySet<RuleName> = new Set(
  ruleNames.filter((name) => !(rules[name] as RuleDefinition).taste),
);

/** The enabled rules' hits on one parsed statement. */
export function checkStatement(
  stmt: Node,
  ctx: StatementContext,
  enabled: ReadonlySet<RuleName>,
): { rule: RuleName; hit: Hit }[] {
  const hits: { rule: RuleName; hit: Hit }[] = [];
  for (const rule of enabled)
    for (const hit of (rules[rule] as RuleDefinition).check(stmt, ctx)) hits.push({ rule, hit });
  return hits;
}
