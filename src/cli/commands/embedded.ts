import { RevisorError } from '../../migrator/index.js';
import type { Context } from '../context.js';
import { defaultEmbeddedDir, embeddedStatus, stopEmbedded } from '../embedded-postgres.js';
import { print, printJson } from '../output.js';

/**
 * revisor embedded [status|stop]: the local PostgreSQL that commands start when no database
 * is configured keeps running between commands (each would otherwise pay its start); this
 * shows it and stops it.
 */
export async function embedded(ctx: Context): Promise<number> {
  const action = ctx.positionals[0] ?? 'status';
  if (action !== 'status' && action !== 'stop')
    throw new RevisorError('Usage', `revisor embedded takes status or stop, got "${action}"`);
  const dir = defaultEmbeddedDir(ctx.env);
  const found = await embeddedStatus(dir);
  if (action === 'stop') {
    if (found?.running) await stopEmbedded(dir);
    if (ctx.json) printJson({ dir, stopped: found?.running === true });
    else
      print(
        found?.running
          ? `stopped the embedded PostgreSQL in ${dir}`
          : `no embedded PostgreSQL is running in ${dir}`,
      );
    return 0;
  }
  if (ctx.json)
    printJson({ dir, exists: found !== null, running: found?.running ?? false, port: found?.port ?? null });
  else if (!found)
    print(`no embedded PostgreSQL in ${dir} (commands start one when no database is configured)`);
  else
    print(
      found.running
        ? `the embedded PostgreSQL in ${dir} is running on 127.0.0.1:${found.port}; "revisor embedded stop" stops it (its data stays)`
        : `the embedded PostgreSQL in ${dir} is stopped (the next command without a database starts it)`,
    );
  return 0;
}
