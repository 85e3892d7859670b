import { type Change, inline, RevisorError, schemaTools, sessionFactory } from '../../migrator/index.js';
import { str } from '../args.js';
import { type Context, resolveConnection, schemasOf, tablesFrom } from '../context.js';
import { print, printJson, reportError } from '../output.js';
import { catalogFrom } from '../schema-source.js';
import { printChanges, renamesOf } from './autogenerate.js';

// The diff engine is loaded with this command, not on every command's way in.
const { changeStatements, diff, findSchemaDrift } = await schemaTools();

const asJson = (changes: readonly Change[]) =>
  changes.map((c) => ({
    summary: c.summary,
    destructive: c.destructive,
    ...(c.review ? { review: c.review } : {}),
    sql: changeStatements([c]).map(inline),
  }));

/** revisor diff --from X --to Y: exit 0 when equal, SchemaDiffers (33) when not. */
export async function diffCommand(ctx: Context): Promise<number> {
  const from = str(ctx.values, 'from') ?? 'database';
  const to = str(ctx.values, 'to') ?? 'head';
  const changes = diff(await catalogFrom(ctx, from), await catalogFrom(ctx, to), renamesOf(ctx));
  if (ctx.json) printJson({ from, to, equal: changes.length === 0, changes: asJson(changes) });
  else if (changes.length === 0) print(`no differences from ${from} to ${to}`);
  else {
    print(`${changes.length} change(s) from ${from} to ${to}:`);
    printChanges(changes);
    if (ctx.values['sql']) for (const s of changeStatements(changes)) print(`${inline(s)};`);
  }
  if (changes.length === 0) return 0;
  return reportError(
    new RevisorError('SchemaDiffers', `${from} and ${to} differ in ${changes.length} change(s); see above`, {
      changes: changes.length,
    }),
  );
}

/** revisor drift: the live catalog against the one recorded at the last apply. */
export async function drift(ctx: Context): Promise<number> {
  const db = await sessionFactory(await resolveConnection(ctx))();
  let found: Awaited<ReturnType<typeof findSchemaDrift>>;
  try {
    found = await findSchemaDrift(db, tablesFrom(ctx.values), schemasOf(ctx.values));
  } finally {
    await db.end();
  }
  if (ctx.json) printJson(found);
  else if (!found.recorded) {
    print('no schema recorded yet: revisor records it after each run that applies a migration');
  } else if (found.differences.length === 0) {
    print(
      `no drift: the schema is as recorded after ${found.recorded.revision} at ${found.recorded.recordedAt.toISOString()}`,
    );
  } else {
    print(
      `the schema changed since ${found.recorded.revision} was applied at ${found.recorded.recordedAt.toISOString()}:`,
    );
    for (const line of found.differences) print(`  ${line}`);
  }
  if (found.differences.length === 0) return 0;
  return reportError(
    new RevisorError(
      'SchemaDiffers',
      `${found.differences.length} difference(s) from the recorded schema: put them in a migration (revisor revision --autogenerate --from-database …), or undo them`,
      { differences: found.differences.length },
    ),
  );
}
