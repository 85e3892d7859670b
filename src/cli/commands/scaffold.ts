import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import {
  chainIndexFile,
  loadMigrations,
  RevisionGraph,
  RevisorError,
  refreshChainIndex,
  renderSqlMigration,
  resolveRevision,
  resolveTarget,
  writeChainIndex,
} from '../../migrator/index.js';
import { str, type Values } from '../args.js';
import { type Context, indexable, migrationLocations } from '../context.js';
import { print, printJson } from '../output.js';
import type { TemplateBodies } from './autogenerate.js';

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

/** What a generated revision runs (autogenerate): op API code, or SQL for a .sql file. */

export interface TemplateFields {
  readonly bodies?: TemplateBodies;
  readonly revision: string;
  readonly downRevisions: readonly string[];
  readonly branchLabels?: readonly string[];
  readonly dependsOn?: readonly string[];
  readonly message: string;
  readonly createDate: string;
}

const tsList = (ids: readonly string[]) =>
  ids.length === 0 ? 'null' : ids.length === 1 ? `'${ids[0]}'` : JSON.stringify(ids).replaceAll('"', "'");

export function renderTemplate(kind: 'ts' | 'sql', fields: TemplateFields): string {
  const { revision, downRevisions, message, createDate } = fields;
  const bodies = fields.bodies;
  if (kind === 'sql')
    return renderSqlMigration(fields, bodies?.upgrade ?? '', bodies ? `${bodies.downgrade}\n` : '');
  const labels = fields.branchLabels ?? [];
  const deps = fields.dependsOn ?? [];
  const optional = [
    ...(labels.length ? [`  branchLabels: ${tsList(labels)},\n`] : []),
    ...(deps.length ? [`  dependsOn: ${tsList(deps)},\n`] : []),
  ].join('');
  const imports = [...(bodies?.helpers ?? []), 'defineMigration'].sort().join(', ');
  const body = (code: string | undefined) => (code ? `{\n${code}\n  }` : '{}');
  return `import { ${imports} } from 'revisor';

export default defineMigration({
  revision: '${revision}',
  downRevision: ${tsList(downRevisions)},
${optional}  message: ${JSON.stringify(message)},
  createDate: '${createDate}',
  upgrade(op) ${body(bodies?.upgrade)},
  downgrade(op) ${body(bodies?.downgrade)},
});
`;
}

async function write(
  ctx: Context,
  downRevisions: readonly string[],
  message: string,
  extra: { branchLabels?: readonly string[]; dependsOn?: readonly string[]; bodies?: TemplateBodies } = {},
): Promise<number> {
  const dir = targetDir(ctx.values);
  const now = new Date();
  const revision = str(ctx.values, 'rev-id') ?? randomBytes(6).toString('hex');
  const createDate = now.toISOString().replace('T', ' ').slice(0, 19);
  const kind = ctx.values['sql'] ? 'sql' : 'ts';
  const path = join(dir, `${fileStem(now, revision, message)}.${kind}`);
  await mkdir(dir, { recursive: true });
  await writeFile(path, renderTemplate(kind, { revision, downRevisions, message, createDate, ...extra }), {
    flag: 'wx',
  });
  const { bodies: _bodies, ...shown } = extra;
  if (ctx.json) printJson({ revision, downRevisions, ...shown, path });
  else print(`Generating ${path} ... done`);
  // Where the chain is built, its index is built: the next no-op at head needs no manual step.
  if (indexable(ctx.values)) await refreshChainIndex(dir, await graphOf(ctx.values));
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
  const written = await writeChainIndex(dir, await graphOf(ctx.values), {
    sealed: ctx.values['seal'] === true,
  });
  if (ctx.json) printJson({ path: join(dir, chainIndexFile), ...written });
  else
    print(
      `wrote ${join(dir, chainIndexFile)}${written.sealed ? ' (sealed)' : ''}: ${written.count} migration(s), head(s) ${written.heads.join(', ')}`,
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

const listOption = (values: Values, name: string) =>
  (str(values, name) ?? '')
    .split(',')
    .map((v) => v.trim())
    .filter((v) => v !== '');

/**
 * revisor revision, as `alembic revision`: on the single head by default; --head names
 * another (a head, `label@head`, or `base` for a new root), --splice allows a non-head,
 * --branch-label names the branch it starts, --depends-on adds dependencies.
 */
export async function revision(ctx: Context): Promise<number> {
  const message = str(ctx.values, 'message');
  if (!message) throw new RevisorError('Usage', 'revision needs -m "message"');
  const graph = await graphOf(ctx.values);
  const head = str(ctx.values, 'head') ?? (graph.size === 0 ? 'base' : 'head');
  if (head === 'head' && graph.versionedHeads.length > 1) {
    throw new RevisorError(
      'MultipleHeads',
      `there are several heads (${graph.versionedHeads.join(', ')}); pass --head <rev> or --head <label>@head, ` +
        'or merge them first with "revisor merge -m msg heads"',
      { heads: graph.versionedHeads },
    );
  }
  const parents = resolveTarget(graph, head, []);
  const notHead = parents.filter((p) => !graph.versionedHeads.includes(p));
  if (notHead.length > 0 && !ctx.values['splice']) {
    throw new RevisorError(
      'Usage',
      `${notHead.join(', ')} is not a head revision; pass --splice to start a new branch from it`,
      { revision: notHead },
    );
  }
  const branchLabels = listOption(ctx.values, 'branch-label');
  for (const l of branchLabels) {
    const owner = graph.labelOwner(l) ?? (graph.has(l) ? l : undefined);
    if (owner !== undefined)
      throw new RevisorError('Usage', `branch label "${l}" is already used by revision ${owner}`, {
        label: l,
      });
  }
  // Alembic keeps a label as written and turns anything else into the full revision id.
  const dependsOn = listOption(ctx.values, 'depends-on').map((d) =>
    graph.labelOwner(d) !== undefined ? d : resolveRevision(graph, d),
  );
  if (!ctx.values['autogenerate']) return write(ctx, parents, message, { branchLabels, dependsOn });
  const { autogenerate } = await import('./autogenerate.js');
  const bodies = await autogenerate(ctx, graph, ctx.values['sql'] ? 'sql' : 'ts');
  if (!bodies) return 0;
  return write(ctx, parents, message, { branchLabels, dependsOn, bodies });
}

export async function merge(ctx: Context): Promise<number> {
  const message = str(ctx.values, 'message');
  if (!message) throw new RevisorError('Usage', 'merge needs -m "message"');
  const graph = await graphOf(ctx.values);
  const parents = [...new Set(ctx.positionals.flatMap((p) => [...resolveTarget(graph, p, [])]))].sort();
  if (parents.length < 2) throw new RevisorError('Usage', 'merge needs at least two revisions (or "heads")');
  return write(ctx, parents, message);
}
