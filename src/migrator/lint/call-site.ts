import { existsSync, readFileSync } from 'node:fs';
import { SourceMap } from 'node:module';
import { pathToFileURL } from 'node:url';
import type { Statement } from '../ops/statement.js';

/**
 * The line of the migration file where an op call made a statement: the first frame of its
 * stack in the revision's module, mapped through the module's source map when it was built
 * (dist/migrations/x.js → migrations/x.ts). Node's SourceMap reads the map; Node's own
 * --enable-source-maps would map every stack of the process, not just these.
 */
export function callSiteLine(
  statement: Statement,
  modulePath: string | undefined,
  maps: SourceMaps,
): number | null {
  if (!statement.site || !modulePath) return null;
  const url = pathToFileURL(modulePath).href;
  for (const frame of (statement.site.stack ?? '').split('\n').slice(1)) {
    const at = /\(?((?:file:\/\/)?[^()\s]+):(\d+):(\d+)\)?$/.exec(frame.trim());
    if (!at || (at[1] !== url && at[1] !== modulePath)) continue;
    const line = Number(at[2]);
    const map = maps.of(modulePath);
    if (!map) return line;
    const entry = map.findEntry(line - 1, Number(at[3]) - 1) as { originalLine?: number };
    return entry.originalLine === undefined ? line : entry.originalLine + 1;
  }
  return null;
}

/** Source maps of built revision modules, read once per lint run. */
export class SourceMaps {
  readonly #maps = new Map<string, SourceMap | null>();

  of(modulePath: string): SourceMap | null {
    if (!this.#maps.has(modulePath)) {
      const file = `${modulePath}.map`;
      this.#maps.set(
        modulePath,
        existsSync(file) ? new SourceMap(JSON.parse(readFileSync(file, 'utf8'))) : null,
      );
    }
    return this.#maps.get(modulePath) ?? null;
  }
}
