import { ident, qualified } from '../ops/statement.js';
import { build } from './build.js';
import type { EnumType, Table } from './catalog.js';
import { qualifiedName } from './catalog.js';
import type { Change } from './changes.js';

/**
 * Enum changes: new enums and added labels come early (before the columns that use them),
 * dropped enums late. Labels added in place use ADD VALUE … BEFORE; a label removed or
 * moved needs the type re-created: the old one renamed aside, the new one created, each
 * column that uses it converted through text, the old one dropped. That conversion fails
 * for rows that hold a removed label, so it is marked destructive.
 */
export function enumChanges(
  from: readonly EnumType[],
  to: readonly EnumType[],
  /** The tables as they are before: their columns of a re-created enum are converted. */
  existingTables: readonly Table[],
): { early: Change[]; late: Change[] } {
  const early: Change[] = [];
  const late: Change[] = [];
  const fromMap = new Map(from.map((e) => [qualifiedName(e), e]));
  const toKeys = new Set(to.map(qualifiedName));
  for (const e of to) {
    const old = fromMap.get(qualifiedName(e));
    if (!old) {
      early.push(build.createEnum(e));
      continue;
    }
    if (old.labels.join('\u0000') === e.labels.join('\u0000')) continue;
    if (isSubsequence(old.labels, e.labels)) {
      for (const [i, label] of e.labels.entries()) {
        if (old.labels.includes(label)) continue;
        const before = e.labels.slice(i + 1).find((l) => old.labels.includes(l));
        early.push(build.addEnumValue(e, label, before));
      }
      continue;
    }
    const aside = `${e.name}__revisor_old`;
    early.push(build.renameEnum(old, aside), build.createEnum(e));
    for (const t of existingTables) {
      for (const col of t.columns) {
        if (!usesEnum(col.type, e)) continue;
        const target = qualified(t.name, t.schema);
        const column = ident(col.name);
        const steps = [
          ...(col.default === null ? [] : [`ALTER COLUMN ${column} DROP DEFAULT`]),
          `ALTER COLUMN ${column} TYPE ${qualified(e.name, e.schema)} USING ${column}::text::${qualified(e.name, e.schema)}`,
          ...(col.default === null ? [] : [`ALTER COLUMN ${column} SET DEFAULT ${col.default}`]),
        ];
        early.push({
          method: 'execute',
          args: [`ALTER TABLE ${target} ${steps.join(', ')}`],
          summary: `convert ${qualifiedName(t)}.${col.name} to the new ${qualifiedName(e)}`,
          destructive: true,
          review: `labels removed from ${qualifiedName(e)} (${old.labels.filter((l) => !e.labels.includes(l)).join(', ') || 'reordered'}): rows holding them fail the conversion; update them first`,
        });
      }
    }
    early.push(build.dropEnum({ ...old, name: aside }));
  }
  for (const e of from) if (!toKeys.has(qualifiedName(e))) late.push(build.dropEnum(e));
  return { early, late };
}

function isSubsequence(small: readonly string[], large: readonly string[]): boolean {
  let i = 0;
  for (const l of large) if (l === small[i]) i++;
  return i === small.length;
}

/** format_type prints an enum bare when its schema is on the search path, qualified otherwise. */
function usesEnum(type: string, e: EnumType): boolean {
  const bare = type.replace(/\[\]$/, '');
  const unquote = (s: string) => s.replace(/^"|"$/g, '').replaceAll('""', '"');
  const parts = bare.split('.').map(unquote);
  return parts.length === 1 ? parts[0] === e.name : parts[0] === e.schema && parts[1] === e.name;
}
