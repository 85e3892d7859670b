import { createHash } from 'node:crypto';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { RevisionGraph } from './graph.js';

/**
 * The chain index: a small file beside the migrations (like a lockfile) that records the
 * chain's heads and a digest of its file names, so the no-op at head can answer "is the
 * database at the head?" without reading every migration: its cost stays the same at any
 * length of history. It is only a shortcut for that answer: any run with work to do loads
 * and checks the whole chain, `revisor check` fails when the index no longer matches, and
 * an index whose file names differ from the directory's is ignored.
 */
export const chainIndexFile = '.revisor-index.json';

export interface ChainIndex {
  readonly format: 1;
  /** sha256 of the migration file names, sorted, one per line. */
  readonly names: string;
  readonly count: number;
  /** What `heads` names (nothing builds on them). */
  readonly heads: readonly string[];
  /** What `head` must be the only one of (no down revision names them); differs only with depends_on. */
  readonly versionedHeads: readonly string[];
}

const moduleFile = /^[^._][^/]*(?<!\.d)\.(ts|mts|js|mjs)$/;

/** Whether a directory entry is a migration (the loader reads exactly these). */
export const isMigrationFile = (name: string): boolean =>
  (name.endsWith('.sql') && !name.startsWith('.') && !name.startsWith('_')) || moduleFile.test(name);

async function migrationNames(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter(isMigrationFile).sort();
}

const digest = (names: readonly string[]) => createHash('sha256').update(names.join('\n')).digest('hex');

export async function buildChainIndex(dir: string, graph: RevisionGraph): Promise<ChainIndex> {
  const names = await migrationNames(dir);
  return {
    format: 1,
    names: digest(names),
    count: names.length,
    heads: [...graph.heads],
    versionedHeads: [...graph.versionedHeads],
  };
}

export async function writeChainIndex(dir: string, graph: RevisionGraph): Promise<ChainIndex> {
  const index = await buildChainIndex(dir, graph);
  await writeFile(join(dir, chainIndexFile), `${JSON.stringify(index, null, 2)}\n`);
  return index;
}

/** The index as stored, or null when there is none (or it is not one). */
export async function readChainIndex(dir: string): Promise<ChainIndex | null> {
  let text: string;
  try {
    text = await readFile(join(dir, chainIndexFile), 'utf8');
  } catch {
    return null;
  }
  try {
    const parsed = JSON.parse(text) as Partial<ChainIndex>;
    const ok =
      parsed.format === 1 &&
      typeof parsed.names === 'string' &&
      typeof parsed.count === 'number' &&
      [parsed.heads, parsed.versionedHeads].every(
        (list) => Array.isArray(list) && list.every((h) => typeof h === 'string'),
      );
    return ok ? (parsed as ChainIndex) : null;
  } catch {
    return null;
  }
}

/**
 * The chain's heads from the index, when it exists and names exactly the directory's
 * migration files; null otherwise (the caller loads the chain). Reading the directory's
 * names is one getdents pass, not a read per file.
 */
export async function indexedHeads(
  dir: string,
): Promise<Pick<ChainIndex, 'heads' | 'versionedHeads'> | null> {
  const index = await readChainIndex(dir);
  if (!index) return null;
  const names = await migrationNames(dir).catch(() => null);
  if (!names || names.length !== index.count || digest(names) !== index.names) return null;
  return index;
}

/** What is wrong with the stored index against the loaded chain; empty when it matches or is absent. */
export async function chainIndexProblems(dir: string, graph: RevisionGraph): Promise<string[]> {
  const stored = await readChainIndex(dir);
  if (!stored) return [];
  const actual = await buildChainIndex(dir, graph);
  const problems: string[] = [];
  if (stored.names !== actual.names || stored.count !== actual.count)
    problems.push(`${chainIndexFile} lists other migration files than ${dir} holds`);
  if (
    stored.heads.join(',') !== actual.heads.join(',') ||
    stored.versionedHeads.join(',') !== actual.versionedHeads.join(',')
  )
    problems.push(
      `${chainIndexFile} names heads ${stored.heads.join(', ')}, the chain's are ${actual.heads.join(', ')}`,
    );
  return problems.map((p) => `${p}: run "revisor index" to bring it up to date`);
}
