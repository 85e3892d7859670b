import { onTestFinished } from 'vitest';
import { launchPgBouncer, type PgBouncer } from './pgbouncer-process.js';

/** A real PgBouncer owned by the calling test, stopped when it ends (see launchPgBouncer). */
export async function startPgBouncer(
  serverUrl: string,
  options: Parameters<typeof launchPgBouncer>[1],
): Promise<PgBouncer> {
  const bouncer = await launchPgBouncer(serverUrl, options);
  onTestFinished(() => bouncer.stop());
  return bouncer;
}
