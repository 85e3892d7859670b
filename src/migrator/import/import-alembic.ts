import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { RevisionGraph } from '../chain/graph.js';
import { isMigrationFile } from '../chain/index-file.js';
import { loadMigrations } from '../chain/loader.js';
import { renderSqlMigration } from '../chain/sql-file.js';
import { RevisorError } from '../errors/errors.js';
import { literal } from '../ops/statement.js';
import { renderOffline } from './alembic-offline.js';
import { type AlembicRevision, readAlembicProject } from './alembic-project.js';

export interface ImportResult {
  readonly out: string;
  readonly revisions: number;
  /** Revisions whose SQL came from Alembic's offline mode. */
  readonly rendered: number;
  /** Revisions written with a marker instead of SQL, and why. */
  readonly unfilled: readonly { readonly revision: string; readonly reason: string }[];
  readonly heads: readonly string[];
}

/**
 * `revisor import alembic`: one SQL migration per Alembic revision, with the same id,
 * down revisions, branch labels, dependencies, message and create date, named so that
 * revisor loads them in Alembic's order. The result is loaded back as a chain before
 * returning, so a graph revisor would refuse is reported here, not at the first deploy.
 */
export async function importAlembic(source: string, out: string, python: string): Promise<ImportResult> {
  const project = await readAlembicProject(source);
  await mkdir(out, { recursive: true });
  const existing = (await readdir(out)).filter(isMigrationFile);
  if (existing.length > 0) {
    throw new RevisorError(
      'Usage',
      `${out} already holds migrations (${existing.slice(0, 3).join(', ')}…); import into an empty directory`,
      { out },
    );
  }
  const offline = await renderOffline(
    python,
    project.revisions.map((r) => r.path),
  );
  const unfilled: { revision: string; reason: string }[] = [];
  const width = String(project.revisions.length).length;
  for (const [index, revision] of project.revisions.entries()) {
    const sql = offline?.get(revision.path);
    const reason =
      offline === null
        ? `${python} cannot import alembic`
        : sql === undefined
          ? 'Alembic rendered nothing for it'
          : 'error' in sql
            ? sql.error
            : null;
    let upgrade: string;
    let downgrade: string;
    if (reason !== null || sql === undefined || 'error' in sql) {
      unfilled.push({ revision: revision.revision, reason: reason ?? 'no SQL' });
      upgrade = marker(revision, 'upgrade', reason ?? 'no SQL');
      downgrade = marker(revision, 'downgrade', reason ?? 'no SQL');
    } else {
      upgrade = clean(sql.upgrade, revision);
      downgrade = clean(sql.downgrade, revision);
    }
    const name = `${String(index + 1).padStart(width, '0')}_${basename(revision.path, '.py')}.sql`;
    const text = renderSqlMigration(
      { ...revision, transactional: !revision.autocommit },
      upgrade,
      `${downgrade}\n`,
    );
    await writeFile(join(out, name), text, { flag: 'wx' });
  }
  const graph = RevisionGraph.build(await loadMigrations(out));
  return {
    out,
    revisions: project.revisions.length,
    rendered: project.revisions.length - unfilled.length,
    unfilled,
    heads: graph.heads,
  };
}

/**
 * Offline output without what a run of its own adds: the BEGIN/COMMIT pairs an
 * autocommit_block writes (the migration is marked transactional: false instead).
 */
function clean(sql: string, revision: AlembicRevision): string {
  const lines = sql.trim().split('\n');
  const kept = revision.autocommit ? lines.filter((l) => !/^(BEGIN|COMMIT);$/.test(l.trim())) : lines;
  return kept.join('\n').trim();
}

/**
 * A section that refuses to run: a revision whose SQL is missing must not be applied as
 * an empty step. (Revisions a database already has are never run, so adopting it works.)
 */
function marker(revision: AlembicRevision, direction: 'upgrade' | 'downgrade', reason: string): string {
  const what = `revisor import: the ${direction} SQL of ${revision.revision} was not generated (${reason}); write it from ${direction}() in ${revision.path}`;
  const line = what.replaceAll('\n', ' ');
  // RAISE's format string treats % as a placeholder: pass the text as its argument.
  return [
    `-- ${line}`,
    `DO $revisor_import$ BEGIN RAISE EXCEPTION '%', ${literal(line)}; END $revisor_import$;`,
  ].join('\n');
}
