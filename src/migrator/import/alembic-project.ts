import { existsSync, statSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { delimiter, dirname, join, resolve } from 'node:path';
import { RevisorError } from '../errors/errors.js';
import {
  type AlembicScript,
  docstringFields,
  PythonLiteralError,
  readAlembicScript,
} from './python-script.js';

/** One revision script of an Alembic project, as declared. */
export interface AlembicRevision extends AlembicScript {
  readonly revision: string;
  readonly path: string;
  readonly message: string;
  readonly createDate: string | null;
  /** The script switches to autocommit for part of its work (CREATE INDEX CONCURRENTLY and the like). */
  readonly autocommit: boolean;
}

export interface AlembicProject {
  /** The alembic.ini, when one was given: Alembic's offline mode is run with it. */
  readonly ini: string | null;
  readonly versionLocations: readonly string[];
  readonly recursive: boolean;
  /** In Alembic's load order, which is the order it runs independent branches in. */
  readonly revisions: readonly AlembicRevision[];
}

function fail(message: string, details: Record<string, unknown> = {}): never {
  throw new RevisorError('MigrationLoadError', message, details);
}

/** The `[alembic]` section's settings, with `%(here)s` expanded as Alembic's config does. */
function iniSettings(text: string, here: string): Map<string, string> {
  const settings = new Map<string, string>();
  let section = '';
  let last: string | null = null;
  for (const line of text.split(/\r?\n/)) {
    if (/^\s*[#;]/.test(line) || line.trim() === '') continue;
    const header = /^\s*\[(.+)\]\s*$/.exec(line);
    if (header) {
      section = header[1]!;
      last = null;
    } else if (section === 'alembic' && /^\s/.test(line) && last) {
      settings.set(last, `${settings.get(last)} ${line.trim()}`);
    } else if (section === 'alembic') {
      const pair = /^([^=:]+?)\s*[=:]\s*(.*)$/.exec(line);
      if (pair) {
        last = pair[1]!.trim();
        settings.set(last, pair[2]!.replaceAll('%(here)s', here).trim());
      }
    }
  }
  return settings;
}

/**
 * An Alembic project from its alembic.ini (script_location, version_locations,
 * version_path_separator, recursive_version_locations), from a script location (a
 * directory with env.py), or from a versions directory.
 */
export async function readAlembicProject(path: string): Promise<AlembicProject> {
  const full = resolve(path);
  if (!existsSync(full)) fail(`${path} does not exist; give an alembic.ini or a versions directory`);
  let ini: string | null = null;
  let locations: string[];
  let recursive = false;
  if (statSync(full).isFile()) {
    ini = full;
    const here = dirname(full);
    const settings = iniSettings(await readFile(full, 'utf8'), here);
    const scriptLocation = settings.get('script_location');
    if (!scriptLocation) fail(`${path}: no script_location in its [alembic] section`);
    const base = resolve(here, scriptLocation);
    const listed = settings.get('version_locations');
    const separator = settings.get('version_path_separator') ?? 'space';
    const split =
      separator === 'os'
        ? delimiter
        : separator === 'space'
          ? /[\s,]+/
          : separator === 'newline'
            ? /\n/
            : separator;
    locations = listed
      ? listed
          .split(split)
          .map((l) => l.trim())
          .filter((l) => l !== '')
          .map((l) => resolve(here, l))
      : [join(base, 'versions')];
    recursive = /^(true|yes|on|1)$/i.test(settings.get('recursive_version_locations') ?? '');
  } else {
    locations = [existsSync(join(full, 'env.py')) ? join(full, 'versions') : full];
  }
  const files: string[] = [];
  for (const location of locations) {
    if (existsSync(location)) files.push(...(await scriptFiles(location, recursive)));
  }
  const revisions = await Promise.all(files.map(readRevision));
  if (revisions.length === 0) fail(`no revision scripts in ${locations.join(', ')}`);
  return { ini, versionLocations: locations, recursive, revisions };
}

/** Alembic's order: a directory's files by name, then (recursively) its subdirectories by name. */
async function scriptFiles(dir: string, recursive: boolean): Promise<string[]> {
  const entries = (await readdir(dir, { withFileTypes: true })).sort((a, b) =>
    a.name < b.name ? -1 : a.name > b.name ? 1 : 0,
  );
  const found = entries
    .filter((e) => e.isFile() && e.name.endsWith('.py') && !/^(\.#|__init__)/.test(e.name))
    .map((e) => join(dir, e.name));
  if (recursive) {
    for (const e of entries) {
      if (e.isDirectory() && e.name !== '__pycache__')
        found.push(...(await scriptFiles(join(dir, e.name), true)));
    }
  }
  return found;
}

async function readRevision(path: string): Promise<AlembicRevision> {
  const text = await readFile(path, 'utf8');
  let script: AlembicScript;
  try {
    script = readAlembicScript(text);
  } catch (err) {
    if (err instanceof PythonLiteralError)
      fail(`${path}: cannot read its revision identifiers: ${err.message}`);
    throw err;
  }
  const { revision } = script;
  if (revision === null)
    fail(`${path}: no module-level "revision = '...'" (is it a revision script?)`, { file: path });
  return {
    ...script,
    revision,
    path,
    ...docstringFields(script.docstring),
    autocommit: text.includes('autocommit_block('),
  };
}
