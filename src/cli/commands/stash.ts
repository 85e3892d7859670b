import { dropStashOf, listStashEntries, RevisorError, sessionFactory } from '../../migrator/index.js';
import type { Context } from '../context.js';
import { resolveConnection } from '../context.js';
import { print, printJson } from '../output.js';

/** revisor stash list | drop <revision>: what upgrades kept for lossless downgrades. */
export async function stash(ctx: Context): Promise<number> {
  const [verb, revision, extra] = ctx.positionals;
  if (!(verb === 'list' && !revision) && !(verb === 'drop' && revision && !extra)) {
    throw new RevisorError('Usage', 'usage: revisor stash list | revisor stash drop <revision>');
  }
  const db = await sessionFactory(await resolveConnection(ctx))();
  try {
    if (verb === 'list') {
      const entries = await listStashEntries(db);
      if (ctx.json) printJson({ entries });
      else if (entries.length === 0) print('the stash is empty');
      else
        for (const e of entries) {
          const what =
            e.kind === 'table' ? `table ${e.schema}.${e.table}` : `column ${e.schema}.${e.table}.${e.column}`;
          print(
            `${e.revision}  ${what}  ${(e.bytes / 1024).toFixed(0)} KiB  since ${e.createdAt.toISOString()}`,
          );
        }
      return 0;
    }
    const dropped = await dropStashOf(db, revision!);
    if (ctx.json) printJson({ revision, dropped });
    else
      print(
        `dropped ${dropped} stash entr${dropped === 1 ? 'y' : 'ies'} of ${revision}: its downgrade can no longer restore that data`,
      );
    return 0;
  } finally {
    await db.end();
  }
}
