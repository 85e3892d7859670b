import { fileURLToPath } from 'node:url';

/**
 * The chain compiled into the build (dist/migrations), or migrations/ when run from
 * source. This module stays two levels below the root, as the bundled CLI does
 * (dist/cli/revisor/), so the same relative path finds it from both.
 */
export const embeddedMigrationsDir = fileURLToPath(new URL('../../migrations', import.meta.url));
