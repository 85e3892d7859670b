import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import {
  chainIndexFile,
  loadMigrations,
  RevisionGraph,
  RevisorError,
  resolveTarget,
  writeChainIndex,
} from '../../migrator/index.js';
import { str, type Values } from '../args.js';
import { type Context, indexable, migrationLocations } from '../context.js';
import { print, printJson } from '../output.js';

/** The version locations `revision` and `merge` read: --migrations, or ./migrations (never the build). */
const locations = (values: Values) =>
  str(values, 'migrations') === undefined
    ? [resolve('migrations')]
    : migrationLocations(values).map((d) => resolve(d));

/** They write into the first location. */
const targetDir = (values: Values) => locations(values)[0]!;

const pad = (n: number) => String(n).padStart(2, '0');

export function slug(message: string): string {
  return (
    message
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '_')
      .replace(/^_+|_+$/g, '')
      .slice(0, 40)
      .replace(/_+$/, '') || 'revision'
  );
}

/** Alembic's file_template: %(year)d%(month).2d%(day).2d_%(hour).2d%(minute).2d_%(rev)s_%(slug)s */
export function fileStem(now: Date, revision: string, message: string): string {
  const date = `${now.getUTCFullYear()}${pad(now.getUTCMonth() + 1)}${pad(now.getUTCDate())}`;
  return `${date}_${pad(now.getUTCHours())}${pad(now.getUTCMinutes())}_${revision}_${slug(message)}`;
}

export function renderTemplate(
  kind: 'ts' | 'sql',
  fields: { revision: string; downRevisions: readonly string[]; message: string; createDate: string },
): string {
  const { revision, downRevisions, message, createDate } = fields;
  if (kind === 'sql') {
    return [
      `-- revision: ${revision}`,
      `-- down_revision: ${downRevisions.length ? downRevisions.join(', ') : 'None'}`,
      `-- message: ${message.replace(/\n/g, ' ')}`,
      `-- create_date: ${createDate}`,
      '-- migrate:upgrade',
      '',
      '-- migrate:downgrade',
      '',
    ].join('\n');
  }
  const down =
    downRevisions.length === 0
      ? 'null'
      : downRevisions.length === 1
        ? `'${downRevisions[0]}'`
        : JSON.stringify(downRevisions).replaceAll('"', "'");
  return `import { defineMigration } from 'revisor';

export default defineMigration({
  revision: '${revision}',
  downRevision: ${down},
  message: ${JSON.stringify(message)},
  createDate: '${createDate}',
  upgrade(op) {},
  downgrade(op) {},
});
`;
}

async function write(ctx: Context, downRevisions: readonly string[], message: string): Promise<number> {
  const dir = targetDir(ctx.values);
  const now = new Date();
  const revision = str(ctx.values, 'rev-id') ?? randomBytes(6).toString('hex');
  const createDate = now.toISOString().replace('T', ' ').slice(0, 19);
  const kind = ctx.values['sql'] ? 'sql' : 'ts';
  const path = join(dir, `${fileStem(now, revision, message)}.${kind}`);
  await mkdir(dir, { recursive: true });
  await writeFile(path, renderTemplate(kind, { revision, downRevisions, message, createDate }), {
    flag: 'wx',
  });
  if (ctx.json) printJson({ revision, downRevisions, path });
  else print(`Generating ${path} ... done`);
  // A chain that keeps an index keeps it current.
  if (indexable(ctx.values) && existsSync(join(dir, chainIndexFile)))
    await writeChainIndex(dir, await graphOf(ctx.values));
  return 0;
}

/** revisor index: writes the chain index that lets the no-op at head skip reading the chain. */
export async function index(ctx: Context): Promise<number> {
  if (!indexable(ctx.values)) {
    throw new RevisorError(
      'Usage',
      'a chain index describes one flat directory: give one --migrations, without --recursive',
    );
  }
  const dir = targetDir(ctx.values);
  const written = await writeChainIndex(dir, await graphOf(ctx.values));
  if (ctx.json) printJson({ path: join(dir, chainIndexFile), ...written });
  else
    print(
      `wrote ${join(dir, chainIndexFile)}: ${written.count} migration(s), head(s) ${written.heads.join(', ')}`,
    );
  return 0;
}

async function graphOf(values: Values): Promise<RevisionGraph> {
  // The first revision of a project may create the directory; any other load error stands.
  const dirs = locations(values).filter((dir) => existsSync(dir));
  return RevisionGraph.build(
    dirs.length === 0 ? [] : await loadMigrations(dirs, { recursive: values['recursive'] === true }),
  );
}

export async function revision(ctx: Context): Promise<number> {
  const message = str(ctx.values, 'message');
  if (!message) throw new RevisorError('Usage', 'revision needs -m "message"');
  const graph = await graphOf(ctx.values);
  const head = str(ctx.values, 'head');
  let parents: readonly string[];
  if (head) parents = resolveTarget(graph, head, []);
  else if (graph.heads.length <= 1) parents = graph.heads;
  else {
    throw new RevisorError(
      'MultipleHeads',
      `there are several heads (${graph.heads.join(', ')}); pass --head <rev>, or merge them first with "revisor merge -m msg heads"`,
      { heads: graph.heads },
    );
  }
  return write(ctx, parents, message);
}

export async function merge(ctx: Context): Promise<number> {
  const message = str(ctx.values, 'message');
  if (!message) throw new RevisorError('Usage', 'merge needs -m "message"');
  const graph = await graphOf(ctx.values);
  const parents = [...new Set(ctx.positionals.flatMap((p) => [...resolveTarget(graph, p, [])]))].sort();
  if (parents.length < 2) throw new RevisorError('Usage', 'merge needs at least two revisions (or "heads")');
  return write(ctx, parents, message);
}
