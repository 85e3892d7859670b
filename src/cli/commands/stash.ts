import { dropStash, listStash, RevisorError, sessionFactory, stashExists } from '../../migrator/index.js';
import type { Context } from '../context.js';
import { resolveConnection } from '../context.js';
import { print, printJson } from '../output.js';

type Entry = {
  revision: string;
  kind: 'table' | 'column';
  schema: string;
  table: string;
  column: string | null;
  createdAt: Date;
  bytes: number;
};

/** revisor stash list | drop <revision>: what upgrades kept for lossless downgrades. */
export async function stash(ctx: Context): Promise<number> {
  const [verb, revision, extra] = ctx.positionals;
  if (!(verb === 'list' && !revision) && !(verb === 'drop' && revision && !extra)) {
    throw new RevisorError('Usage', 'usage: revisor stash list | revisor stash drop <revision>');
  }
  const db = await sessionFactory(await resolveConnection(ctx))();
  try {
    const exists = (await db.query<{ exists: boolean }>(stashExists.sql)).rows[0]?.exists;
    if (verb === 'list') {
      const entries = exists ? (await db.query<Entry>(listStash.sql)).rows : [];
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
    const statement = dropStash(revision!);
    const dropped = exists
      ? ((await db.query<{ dropped: number }>(statement.sql, statement.params)).rows[0]?.dropped ?? 0)
      : 0;
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
