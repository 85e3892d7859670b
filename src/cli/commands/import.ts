import { importAlembic, RevisorError } from '../../migrator/index.js';
import { str } from '../args.js';
import type { Context } from '../context.js';
import { print, printJson } from '../output.js';

/** revisor import alembic <source> --out <dir>: bring an Alembic project's history over. */
export async function importProject(ctx: Context): Promise<number> {
  const [kind, source, extra] = ctx.positionals;
  if (kind !== 'alembic' || !source || extra !== undefined)
    throw new RevisorError(
      'Usage',
      'usage: revisor import alembic <alembic.ini | versions directory> --out <dir>',
    );
  const out = str(ctx.values, 'out');
  if (!out)
    throw new RevisorError('Usage', 'import needs --out <dir>, an empty directory for the migrations');
  const result = await importAlembic(source, out, str(ctx.values, 'python') ?? 'python3');
  if (ctx.json) {
    printJson(result);
  } else {
    print(
      `imported ${result.revisions} revision(s) into ${result.out}, head(s) ${result.heads.join(', ')}: ` +
        `${result.rendered} with SQL from Alembic's offline mode`,
    );
  }
  // Markers are not a failure (a database Alembic already migrated adopts them as they are),
  // but each is named on stderr: its file refuses to run until its SQL is written.
  for (const u of result.unfilled)
    process.stderr.write(
      `revisor: ${u.revision} has no SQL (${u.reason}); fill in its file before applying it\n`,
    );
  return 0;
}
