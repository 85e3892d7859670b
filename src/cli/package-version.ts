import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** The package's version, from the package.json above this module (src/cli or dist/cli/revisor). */
export function packageVersion(): string {
  for (let dir = import.meta.dirname; dir !== dirname(dir); dir = dirname(dir)) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {
        name?: string;
        version?: string;
      };
      if (pkg.name === 'revisor') return pkg.version ?? 'unknown';
    } catch {
      // Not here: one level up.
    }
  }
  return 'unknown';
}
