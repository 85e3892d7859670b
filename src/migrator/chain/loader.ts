import { type Dirent, existsSync, readFileSync, statSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { registerHooks } from 'node:module';
import { join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import { RevisorError } from '../errors/errors.js';
import { Op } from '../ops/op.js';
import type { Statement } from '../ops/statement.js';
import { isStashStatement } from '../sql/stash-sql.js';
import { checksum } from './checksum.js';
import { isMigrationFile } from './index-file.js';
import type { Migration, MigrationDefinition } from './migration.js';
import { type Phase, phases } from './phase.js';
import { parseRevisionList, parseSqlMigration, revisionIdPattern, revisionIdRule } from './sql-file.js';

/** A migration file found in a version location. */
interface Found {
  readonly dir: string;
  readonly entry: Dirent;
  /** As messages show it: relative to where revisor runs, when that is shorter. */
  readonly display: string;
}

/**
 * The migration files of a version location; with `recursive`, of its subdirectories too
 * (Alembic's recursive_version_locations), skipping those starting with "." or "_"
 * (__pycache__, hidden folders), as files are skipped.
 */
async function findMigrations(dir: string, recursive: boolean): Promise<Found[]> {
  let entries: Dirent[];
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (err) {
    throw new RevisorError(
      'MigrationLoadError',
      `cannot read migrations directory ${dir}: ${(err as Error).message}`,
      { dir },
    );
  }
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const relativeDir = relative(process.cwd(), dir);
  const shownDir = relativeDir.startsWith('..') ? dir : relativeDir;
  const found: Found[] = [];
  // Alembic's load order (a location's files by name, then its subdirectories by name) is
  // the order it runs independent branches in; keeping it keeps runs alike.
  for (const entry of entries) {
    if (isMigrationFile(entry.name) && !(recursive && entry.isDirectory())) {
      const display = sourceOf(dir, entry.name) ?? (shownDir ? `${shownDir}/${entry.name}` : entry.name);
      found.push({ dir, entry, display });
    }
  }
  if (recursive) {
    for (const entry of entries) {
      if (entry.isDirectory() && !/^[._]/.test(entry.name))
        found.push(...(await findMigrations(join(dir, entry.name), true)));
    }
  }
  return found;
}

/**
 * The file a user wrote, for a built revision (dist/migrations/x.js of the embedded chain, or
 * a project's compiled chain): its source map names it. Messages point there, not at the
 * build output; null when there is no map or the source is not on disk.
 */
function sourceOf(dir: string, name: string): string | null {
  if (!name.endsWith('.js')) return null;
  const map = join(dir, `${name}.map`);
  if (!existsSync(map)) return null;
  try {
    const source = (JSON.parse(readFileSync(map, 'utf8')) as { sources?: string[] }).sources?.[0];
    if (!source) return null;
    const path = join(dir, source);
    if (!existsSync(path)) return null;
    const shown = relative(process.cwd(), path);
    return shown.startsWith('..') ? path : shown;
  } catch {
    return null;
  }
}

/**
 * The migrations of one or several version locations (Alembic's version_locations): one
 * graph across all of them, so a revision may name a down revision in another location.
 */
export async function loadMigrations(
  locations: string | readonly string[],
  options: { recursive?: boolean } = {},
): Promise<Migration[]> {
  const found: Found[] = [];
  for (const dir of typeof locations === 'string' ? [locations] : locations) {
    found.push(...(await findMigrations(dir, options.recursive ?? false)));
  }
  // Small files read synchronously: hundreds of async opens cost more than they save.
  return Promise.all(
    found.map(({ dir, entry, display }) =>
      entry.name.endsWith('.sql')
        ? parseSqlMigration(readSqlText(dir, entry, display), display)
        : loadModule(join(dir, entry.name), display),
    ),
  );
}

/** Larger than any hand-written migration; a data dump belongs in a COPY, not a revision. */
export const maxSqlFileBytes = 64 * 1024 * 1024;
const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * A SQL migration's text, refused (MigrationLoadError naming the file) when it is not a
 * readable regular file, too large, or not UTF-8: a replacement character silently
 * substituted into DDL would be applied as written. The directory entry's type says what
 * it is without a stat per file; only a symlink is followed to see what it names.
 */
function readSqlText(dir: string, entry: Dirent, file: string): string {
  const path = join(dir, entry.name);
  let bytes: Buffer;
  try {
    const regular = entry.isFile() || (entry.isSymbolicLink() && statSync(path).isFile());
    if (!regular) fail(file, 'is not a regular file (a directory named *.sql?); rename or remove it');
    bytes = readFileSync(path);
  } catch (err) {
    if (err instanceof RevisorError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    fail(
      file,
      `cannot be read: ${code ?? (err as Error).message}${code === 'ENOENT' ? ' (a dangling symlink?)' : ''}`,
    );
  }
  if (bytes.length > maxSqlFileBytes)
    fail(file, `is ${bytes.length} bytes, over the ${maxSqlFileBytes}-byte limit for a migration file`);
  try {
    return utf8.decode(bytes);
  } catch {
    fail(file, `is not valid UTF-8 (first bad byte at offset ${firstInvalidUtf8(bytes)}); save it as UTF-8`);
  }
}

/** The offset of the first byte where a strict UTF-8 decode fails. */
function firstInvalidUtf8(bytes: Buffer): number {
  // "This prefix holds no invalid sequence" is monotone when a character cut off at the
  // prefix's end does not count (stream mode), so bisection finds the first bad byte.
  const clean = (n: number) => {
    try {
      new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(0, n), { stream: true });
      return true;
    } catch {
      return false;
    }
  };
  let low = 0;
  let high = bytes.length;
  while (low < high) {
    const mid = (low + high + 1) >> 1;
    if (clean(mid)) low = mid;
    else high = mid - 1;
  }
  return low;
}

/**
 * TypeScript revision files import their siblings as `./x.js` (TypeScript's own convention,
 * and what tsc emits), which Node's type stripping leaves as they are: while a .ts revision
 * loads, a `.js` specifier with no such file resolves to the `.ts` beside it.
 */
function tsSiblings(): { deregister(): void } {
  return registerHooks({
    resolve(specifier, context, nextResolve) {
      if (specifier.startsWith('.') && specifier.endsWith('.js') && context.parentURL?.endsWith('.ts')) {
        const url = new URL(specifier, context.parentURL);
        if (!existsSync(url) && existsSync(new URL(url.href.replace(/\.js$/, '.ts'))))
          return nextResolve(specifier.replace(/\.js$/, '.ts'), context);
      }
      return nextResolve(specifier, context);
    },
  });
}

async function loadModule(path: string, file: string): Promise<Migration> {
  let definition: MigrationDefinition;
  const hooks = path.endsWith('.ts') ? tsSiblings() : null;
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
  } finally {
    hooks?.deregister();
  }
  return fromDefinition(definition, file, path);
}

function phaseOf(value: unknown, file: string): Phase {
  if (value === undefined) return 'pre-deploy';
  if (!phases.includes(value as Phase))
    fail(file, `phase must be ${phases.join(' or ')}, got ${JSON.stringify(value)}`);
  return value as Phase;
}

function fail(file: string, what: string): never {
  throw new RevisorError('MigrationLoadError', `${file}: ${what}`, { file });
}

/** Validates a module's definition and renders its statements on first use. */
export function fromDefinition(
  definition: MigrationDefinition,
  file: string,
  modulePath?: string,
): Migration {
  const { revision, downRevision, message } = definition;
  if (typeof revision !== 'string' || !revisionIdPattern.test(revision)) {
    fail(file, `malformed revision id ${JSON.stringify(revision)} (${revisionIdRule})`);
  }
  if (typeof definition.upgrade !== 'function') fail(file, 'missing upgrade(op)');
  if (typeof definition.downgrade !== 'function') fail(file, 'missing downgrade(op)');
  const list = (value: unknown, field: 'down_revision' | 'branch_labels' | 'depends_on') => {
    if (value === null || value === undefined) return [];
    if (typeof value === 'string') return parseRevisionList(value, file, 0, field);
    if (Array.isArray(value) && value.every((v) => typeof v === 'string'))
      return parseRevisionList(value.join(','), file, 0, field);
    fail(file, `${field} must be a string, a list of strings, or null`);
  };
  const downRevisions = list(downRevision, 'down_revision');
  const render = (direction: 'upgrade' | 'downgrade') => {
    let cached: readonly Statement[] | undefined;
    return (): readonly Statement[] => {
      if (cached) return cached;
      const op = new Op({ revision, direction, stash: definition.stash !== false });
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
  // Stash statements are bookkeeping the op API adds, not the author's SQL: checksums
  // leave them out, so revisions applied before stashing existed still match. Kept: the
  // operator checks an applied chain's checksums at every look.
  const sumOf = (statements: () => readonly Statement[]) => {
    let sum: string | undefined;
    return () => {
      sum ??= checksum(statements().filter((s) => !isStashStatement(s)));
      return sum;
    };
  };
  const upgradeSum = sumOf(upgrade);
  const downgradeSum = sumOf(downgrade);
  return {
    revision,
    downRevisions,
    branchLabels: list(definition.branchLabels, 'branch_labels'),
    dependsOn: list(definition.dependsOn, 'depends_on'),
    message: typeof message === 'string' ? message : '',
    createDate: definition.createDate ?? null,
    transactional: definition.transactional ?? true,
    phase: phaseOf(definition.phase, file),
    lintWaivers: definition.lintWaivers ?? {},
    source: file,
    ...(modulePath ? { modulePath } : {}),
    upgrade,
    downgrade,
    hasDowngrade: () => downgrade().length > 0,
    checksum: (direction) => (direction === 'upgrade' ? upgradeSum() : downgradeSum()),
  };
}
