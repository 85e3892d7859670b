import {
  type Catalog,
  type Change,
  inline,
  type Renames,
  type RevisionGraph,
  RevisorError,
  schemaTools,
} from '../../migrator/index.js';
import { str } from '../args.js';
import type { Context } from '../context.js';
import { print } from '../output.js';
import { catalogFrom } from '../schema-source.js';

/** What autogenerate writes into a new revision's template. */
export interface TemplateBodies {
  readonly upgrade: string;
  readonly downgrade: string;
  /** For TypeScript: the helpers the code uses, imported beside defineMigration. */
  readonly helpers?: readonly string[];
}

// The diff engine is loaded with this command, not on every command's way in.
const { changeCode, changeStatements, diff, parseRenames, usedHelpers } = await schemaTools();

/** The way back from `renames`: each new name to its old one. */
function inverse(renames: Renames): Renames {
  const flip = (
    m: Readonly<Record<string, string>> | undefined,
    qualify: (key: string, to: string) => string,
  ) =>
    Object.fromEntries(
      Object.entries(m ?? {}).map(([key, to]) => [qualify(key, to), key.slice(key.lastIndexOf('.') + 1)]),
    );
  return {
    tables: flip(renames.tables, (key, to) => `${key.slice(0, key.lastIndexOf('.'))}.${to}`),
    columns: flip(renames.columns, (key, to) => `${key.slice(0, key.lastIndexOf('.'))}.${to}`),
  };
}

export const renamesOf = (ctx: Context): Renames => {
  const values = ctx.values['rename'];
  return parseRenames(Array.isArray(values) ? values : typeof values === 'string' ? [values] : []);
};

/** One line per change, marking what destroys data and what needs a decision. */
export function printChanges(changes: readonly Change[]): void {
  for (const c of changes) {
    print(`  ${c.destructive ? '!' : '+'} ${c.summary}${c.destructive ? ' (destructive)' : ''}`);
    if (c.review) print(`      review: ${c.review}`);
  }
}

/**
 * revisor revision --autogenerate: the chain's heads, applied to a scratch database, against
 * the desired schema (--schema FILE.sql or --from-database URL); the upgrade is the diff one
 * way and the downgrade the other. null (and nothing written) when they do not differ.
 */
export async function autogenerate(
  ctx: Context,
  graph: RevisionGraph,
  kind: 'ts' | 'sql',
): Promise<TemplateBodies | null> {
  const schema = str(ctx.values, 'schema');
  const reference = str(ctx.values, 'from-database');
  if ((schema === undefined) === (reference === undefined)) {
    throw new RevisorError(
      'Usage',
      '--autogenerate needs the desired schema: --schema FILE.sql or --from-database URL',
    );
  }
  const desired: Catalog = await catalogFrom(ctx, schema !== undefined ? `file:${schema}` : reference!);
  const current = await catalogFrom(ctx, graph.size === 0 ? 'base' : 'heads');
  const renames = renamesOf(ctx);
  const up = diff(current, desired, renames);
  if (up.length === 0) {
    print('no changes: the chain already produces that schema; nothing written');
    return null;
  }
  const down = diff(desired, current, inverse(renames));
  print(`autogenerate: ${up.length} change(s):`);
  printChanges(up);
  if (kind === 'sql') {
    const sql = (changes: readonly Change[]) =>
      changes
        .flatMap((c) => [
          ...(c.destructive ? [`-- destructive: ${c.summary}`] : []),
          ...(c.review ? [`-- review: ${c.review}`] : []),
          ...changeStatements([c]).map((s) => `${inline(s)};`),
        ])
        .join('\n');
    return { upgrade: sql(up), downgrade: sql(down) };
  }
  return {
    upgrade: changeCode(up),
    downgrade: changeCode(down),
    helpers: [...new Set([...usedHelpers(up), ...usedHelpers(down)])],
  };
}
