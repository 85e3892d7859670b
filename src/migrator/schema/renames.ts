import { RevisorError } from '../errors/errors.js';
import { build } from './build.js';
import type { Catalog } from './catalog.js';
import type { Change } from './changes.js';

/**
 * What the author says was renamed, which a diff cannot tell from a drop and an add:
 * `old:new` for a table, `table.old:new` for a column (schema-qualified with a leading
 * `schema.` when not public).
 */
export interface Renames {
  readonly tables?: Readonly<Record<string, string>>;
  readonly columns?: Readonly<Record<string, string>>;
}

/** `--rename` values into Renames. */
export function parseRenames(values: readonly string[]): Renames {
  const tables: Record<string, string> = {};
  const columns: Record<string, string> = {};
  for (const value of values) {
    const match = /^([^:]+):([^:.]+)$/.exec(value.trim());
    if (!match)
      throw new RevisorError(
        'Usage',
        `--rename takes old:new or table.old:new, got ${JSON.stringify(value)}`,
      );
    const [, from, to] = match as unknown as [string, string, string];
    const parts = from.split('.');
    if (parts.length === 1) tables[`public.${from}`] = to;
    else if (parts.length === 2) columns[`public.${from}`] = to;
    else if (parts.length === 3) columns[from] = to;
    else throw new RevisorError('Usage', `--rename: cannot read ${JSON.stringify(from)}`);
  }
  return { tables, columns };
}

/** The `from` catalog with the renames done, and the changes that do them. */
export function applyRenames(catalog: Catalog, renames: Renames): { catalog: Catalog; changes: Change[] } {
  const changes: Change[] = [];
  const tableRenames = new Map(Object.entries(renames.tables ?? {}));
  const columnRenames = new Map(Object.entries(renames.columns ?? {}));
  const known = new Set<string>();
  const tables = catalog.tables.map((t) => {
    const tableKey = `${t.schema}.${t.name}`;
    let table = t;
    const newName = tableRenames.get(tableKey);
    if (newName !== undefined) {
      known.add(tableKey);
      changes.push(build.renameTable(t, newName));
      table = { ...table, name: newName };
    }
    const columns = table.columns.map((c) => {
      const renameKey = [`${tableKey}.${c.name}`, `${t.schema}.${table.name}.${c.name}`].find((k) =>
        columnRenames.has(k),
      );
      if (renameKey === undefined) return c;
      const renamed = columnRenames.get(renameKey)!;
      known.add(renameKey);
      changes.push(build.renameColumn(table, c.name, renamed));
      return { ...c, name: renamed };
    });
    return { ...table, columns };
  });
  const unknown = [...tableRenames.keys(), ...columnRenames.keys()].filter((k) => !known.has(k));
  if (unknown.length > 0) {
    throw new RevisorError(
      'Usage',
      `--rename names what the current schema does not have: ${unknown.join(', ')}`,
    );
  }
  return { catalog: { ...catalog, tables }, changes };
}
