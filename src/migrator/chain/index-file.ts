import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RevisionGraph } from './graph.js';

/**
 * The chain index: a small file beside the migrations that records the chain's heads, so
 * the no-op at head can answer "is the database at the head?" without reading every
 * migration. It is only a shortcut for that answer, and a stale one is never trusted:
 * - a sealed index (`revisor index --seal`, run where the directory is built into an image
 *   and never changes after) is trusted while the directory holds exactly the file names
 *   it lists. It records the directory's modification time, which any added, removed or
 *   renamed entry moves: while that second is unchanged, one stat of the directory answers
 *   however long the chain; otherwise the names are read again (one getdents pass);
 * - any other index also carries a stamp of every file's size and modification time, and
 *   is trusted only while every file still matches it: a stat per file, no read. An edit,
 *   an added or a removed revision all change the stamp, and the chain is loaded.
 * Any run with work to do loads and checks the whole chain regardless.
 */
export const chainIndexFile = '.revisor-index.json';

export interface ChainIndex {
  readonly format: 2;
  /** sha256 of the migration file names, sorted, one per line. */
  readonly names: string;
  readonly count: number;
  /** sha256 of each file's name, size and mtime; absent when sealed. */
  readonly stamp?: string;
  readonly sealed: boolean;
  /** The directory's mtime (ms) once sealed: see chainIndexFile. */
  readonly directoryMtimeMs?: number;
  /** What `heads` names (nothing builds on them). */
  readonly heads: readonly string[];
  /** What `head` must be the only one of (no down revision names them); differs only with depends_on. */
  readonly versionedHeads: readonly string[];
}

const moduleFile = /^[^._][^/]*(?<!\.d)\.(ts|mts|js|mjs)$/;

/** Whether a directory entry is a migration (the loader reads exactly these). */
export const isMigrationFile = (name: string): boolean =>
  (name.endsWith('.sql') && !name.startsWith('.') && !name.startsWith('_')) || moduleFile.test(name);

// Synchronous on purpose: this is the no-op's whole cost, and a stat in a loop is a few
// microseconds where a promise per file is ten times that.
const migrationNames = (dir: string): string[] => readdirSync(dir).filter(isMigrationFile).sort();

const sha256 = (lines: readonly string[]) => createHash('sha256').update(lines.join('\n')).digest('hex');

function stampOf(dir: string, names: readonly string[]): string {
  return sha256(
    names.map((name) => {
      const s = statSync(join(dir, name));
      return `${name}\t${s.size}\t${s.mtimeMs}`;
    }),
  );
}

export function buildChainIndex(
  dir: string,
  graph: RevisionGraph,
  options: { readonly sealed?: boolean } = {},
): ChainIndex {
  const names = migrationNames(dir);
  const sealed = options.sealed ?? false;
  return {
    format: 2,
    names: sha256(names),
    count: names.length,
    ...(sealed ? {} : { stamp: stampOf(dir, names) }),
    sealed,
    heads: [...graph.heads],
    versionedHeads: [...graph.versionedHeads],
  };
}

const indexText = (index: ChainIndex) => `${JSON.stringify(index, null, 2)}\n`;

export async function writeChainIndex(
  dir: string,
  graph: RevisionGraph,
  options: { readonly sealed?: boolean } = {},
): Promise<ChainIndex> {
  const index = buildChainIndex(dir, graph, options);
  const file = join(dir, chainIndexFile);
  // Written synchronously, as it is read: node:fs/promises, imported by this module, would
  // load with the no-op's chunk, and readline, watchers and dirs with it (about 10 modules).
  writeFileSync(file, indexText(index));
  if (!index.sealed) return index;
  // Creating the file moved the directory's mtime; rewriting it in place does not.
  const sealed = { ...index, directoryMtimeMs: statSync(dir).mtimeMs };
  writeFileSync(file, indexText(sealed));
  // An image's layers may keep whole seconds only, truncated or rounded (Go's archive/tar
  // rounds), so the check compares seconds: seal returns once the second after this one is
  // over too (with room for the kernel's coarse file clock), and any later change to the
  // directory lands in a second neither way of keeping it could confuse with this one.
  await sleepUntil((Math.floor(sealed.directoryMtimeMs / 1000) + 2) * 1000 + 50);
  return sealed;
}

const sleepUntil = (epochMs: number) =>
  new Promise((resolve) => setTimeout(resolve, Math.max(0, epochMs - Date.now())));

const isStringList = (list: unknown) => Array.isArray(list) && list.every((h) => typeof h === 'string');

/** The index as stored, or null when there is none (or it is not one of this format). */
export async function readChainIndex(dir: string): Promise<ChainIndex | null> {
  let text: string;
  try {
    // Synchronous, as the stats below: a few hundred bytes, where the thread pool's four
    // round trips (open, stat, read, close) would hold up the connect's events.
    text = readFileSync(join(dir, chainIndexFile), 'utf8');
  } catch {
    return null;
  }
  try {
    const parsed = JSON.parse(text) as Partial<ChainIndex>;
    const ok =
      parsed.format === 2 &&
      typeof parsed.names === 'string' &&
      typeof parsed.count === 'number' &&
      (parsed.sealed === true || (parsed.sealed === false && typeof parsed.stamp === 'string')) &&
      (parsed.directoryMtimeMs === undefined || typeof parsed.directoryMtimeMs === 'number') &&
      isStringList(parsed.heads) &&
      isStringList(parsed.versionedHeads);
    return ok ? (parsed as ChainIndex) : null;
  } catch {
    return null;
  }
}

/** The directory's mtime as sealed, kept whole (truncated or rounded) or not. */
export function sameSecond(nowMs: number, sealedMs: number): boolean {
  if (Math.floor(nowMs / 1000) === Math.floor(sealedMs / 1000)) return true;
  return nowMs % 1000 === 0 && nowMs === Math.round(sealedMs / 1000) * 1000;
}

/** Whether the stored index still describes the directory (see chainIndexFile). */
function matches(dir: string, index: ChainIndex): boolean {
  try {
    if (
      index.sealed &&
      index.directoryMtimeMs !== undefined &&
      sameSecond(statSync(dir).mtimeMs, index.directoryMtimeMs)
    )
      return true;
    const names = migrationNames(dir);
    if (names.length !== index.count || sha256(names) !== index.names) return false;
    return index.sealed || stampOf(dir, names) === index.stamp;
  } catch {
    return false;
  }
}

/** The chain's heads from the index when it is current; null otherwise (the caller loads the chain). */
export async function indexedHeads(
  dir: string,
): Promise<Pick<ChainIndex, 'heads' | 'versionedHeads'> | null> {
  const index = await readChainIndex(dir);
  return index && matches(dir, index) ? index : null;
}

/**
 * After a run that had to load the chain: an unsealed index brought up to date, so the next
 * no-op needs no manual step. Best effort: a directory this process may not write (an
 * image's, a read-only mount) keeps what it has, and the chain is loaded next time too.
 */
export async function refreshChainIndex(dir: string, graph: RevisionGraph): Promise<boolean> {
  const stored = await readChainIndex(dir);
  if (stored?.sealed) return false;
  try {
    await writeChainIndex(dir, graph);
    return true;
  } catch {
    return false;
  }
}

/**
 * What is wrong with the stored index against the loaded chain: only an index the no-op
 * would trust (see chainIndexFile) that names other heads than the chain's, which can
 * happen to a sealed one edited in place. An index that is merely out of date is ignored
 * and rewritten, so it is no problem.
 */
export async function chainIndexProblems(dir: string, graph: RevisionGraph): Promise<string[]> {
  const stored = await readChainIndex(dir);
  if (!stored || !matches(dir, stored)) return [];
  const sameHeads =
    stored.heads.join(',') === [...graph.heads].join(',') &&
    stored.versionedHeads.join(',') === [...graph.versionedHeads].join(',');
  if (sameHeads) return [];
  const fix = stored.sealed ? 'revisor index --seal' : 'revisor index';
  return [
    `${chainIndexFile} names heads ${stored.heads.join(', ')}, the chain's are ${[...graph.heads].join(', ')}: run "${fix}" to bring it up to date`,
  ];
}
