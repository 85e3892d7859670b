import { readFileSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { checksum } from './checksum.js';
import { RevisorError } from './errors.js';
import type { Migration, MigrationDefinition } from './migration.js';
import { Op } from './ops/op.js';
import type { Statement } from './ops/statement.js';
import { parseRevisionList, parseSqlMigration, revisionIdPattern } from './sql-file.js';

/** The chain compiled into the build (dist/migrations), or migrations/ when run from source. */
export const embeddedMigrationsDir = fileURLToPath(new URL('../../migrations', import.meta.url));

const moduleFile = /^[^._][^/]*(?<!\.d)\.(ts|mts|js|mjs)$/;

export async function loadMigrations(dir: string): Promise<Migration[]> {
  let names: string[];
  try {
    names = (await readdir(dir)).sort();
  } catch (err) {
    throw new RevisorError(
      'MigrationLoadError',
      `cannot read migrations directory ${dir}: ${(err as Error).message}`,
      {
        dir,
      },
    );
  }
  // Paths in messages are relative to where revisor runs, when that is shorter.
  const relativeDir = relative(process.cwd(), dir);
  const shownDir = relativeDir.startsWith('..') ? dir : relativeDir;
  const display = (name: string) => (shownDir ? `${shownDir}/${name}` : name);
  // Small files read synchronously: hundreds of async opens cost more than they save.
  const loads = names.map(async (name): Promise<Migration | null> => {
    if (name.endsWith('.sql')) return parseSqlMigration(readFileSync(join(dir, name), 'utf8'), display(name));
    if (moduleFile.test(name)) return loadModule(join(dir, name), display(name));
    return null;
  });
  return (await Promise.all(loads)).filter((m): m is Migration => m !== null);
}

async function loadModule(path: string, file: string): Promise<Migration> {
  let definition: MigrationDefinition;
  try {
    const mod = (await import(pathToFileURL(path).href)) as { default?: MigrationDefinition };
    if (!mod.default) throw new Error('no default export (export default defineMigration({...}))');
    definition = mod.default;
  } catch (err) {
    if (err instanceof RevisorError) throw err;
    throw new RevisorError(
      'MigrationLoadError',
      `${file}: cannot load migration module: ${(err as Error).message}`,
      {
        file,
      },
    );
  }
  return fromDefinition(definition, file);
}

function fail(file: string, what: string): never {
  throw new RevisorError('MigrationLoadError', `${file}: ${what}`, { file });
}

/** Validates a module's definition and renders its statements on first use. */
export function fromDefinition(definition: MigrationDefinition, file: string): Migration {
  const { revision, downRevision, message } = definition;
  if (typeof revision !== 'string' || !revisionIdPattern.test(revision)) {
    fail(file, `malformed revision id ${JSON.stringify(revision)} (1-32 letters, digits or _)`);
  }
  if (typeof definition.upgrade !== 'function') fail(file, 'missing upgrade(op)');
  if (typeof definition.downgrade !== 'function') fail(file, 'missing downgrade(op)');
  const downRevisions =
    downRevision === null || downRevision === undefined
      ? []
      : typeof downRevision === 'string'
        ? parseRevisionList(downRevision, file, 0)
        : parseRevisionList([...downRevision].join(','), file, 0);
  const render = (direction: 'upgrade' | 'downgrade') => {
    let cached: readonly Statement[] | undefined;
    return (): readonly Statement[] => {
      if (cached) return cached;
      const op = new Op();
      try {
        definition[direction](op);
      } catch (err) {
        throw new RevisorError(
          'MigrationLoadError',
          `${file}: ${direction}() failed to render: ${(err as Error).message}`,
          {
            file,
            revision,
          },
        );
      }
      cached = op.statements;
      return cached;
    };
  };
  const upgrade = render('upgrade');
  const downgrade = render('downgrade');
  return {
    revision,
    downRevisions,
    message: typeof message === 'string' ? message : '',
    createDate: definition.createDate ?? null,
    transactional: definition.transactional ?? true,
    lintWaivers: definition.lintWaivers ?? {},
    source: file,
    upgrade,
    downgrade,
    hasDowngrade: () => downgrade().length > 0,
    checksum: (direction) => checksum(direction === 'upgrade' ? upgrade() : downgrade()),
  };
}
