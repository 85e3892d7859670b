import { type ChildProcess, spawn } from 'node:child_process';
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { testDir } from './temp-dir.js';

export const repoRoot = resolve(import.meta.dirname, '../..');
const bin = join(repoRoot, 'bin/revisor.js');

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** The built CLI (npm run build) as a child process, as Jobs and init containers run it. */
export function startCli(
  args: readonly string[],
  env: Record<string, string> = {},
): { child: ChildProcess; done: Promise<CliResult> } {
  const child = spawn(process.execPath, [bin, ...args], {
    cwd: repoRoot,
    env: {
      PATH: process.env['PATH'] ?? '',
      HOME: process.env['HOME'] ?? '/tmp',
      REVISOR_LOG_FORMAT: 'json',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => (stdout += d));
  child.stderr!.on('data', (d) => (stderr += d));
  const done = new Promise<CliResult>((resolveDone) =>
    child.on('close', (code, signal) => resolveDone({ code, signal, stdout, stderr })),
  );
  return { child, done };
}

export function runCli(args: readonly string[], env: Record<string, string> = {}): Promise<CliResult> {
  return startCli(args, env).done;
}

/** A migrations directory in a temp folder; files are `name -> text`. */
export async function writeChain(files: Record<string, string>): Promise<string> {
  const dir = await testDir('revisor-chain-');
  for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text);
  return dir;
}

export function sqlMigration(
  revision: string,
  down: string | null,
  upgrade: string,
  downgrade: string,
  options: { transactional?: boolean; message?: string; branchLabels?: string[]; dependsOn?: string[] } = {},
): string {
  return [
    `-- revision: ${revision}`,
    `-- down_revision: ${down ?? 'None'}`,
    ...(options.branchLabels?.length ? [`-- branch_labels: ${options.branchLabels.join(', ')}`] : []),
    ...(options.dependsOn?.length ? [`-- depends_on: ${options.dependsOn.join(', ')}`] : []),
    `-- message: ${options.message ?? `step ${revision}`}`,
    ...(options.transactional === false ? ['-- transactional: false'] : []),
    '-- migrate:upgrade',
    upgrade,
    '-- migrate:downgrade',
    downgrade,
    '',
  ].join('\n');
}

/** rev1..revN, each creating table tN. */
export function linearChain(n: number, prefix = 'rev'): Record<string, string> {
  const files: Record<string, string> = {};
  for (let i = 1; i <= n; i++) {
    files[`${String(i).padStart(3, '0')}.sql`] = sqlMigration(
      `${prefix}${i}`,
      i === 1 ? null : `${prefix}${i - 1}`,
      `CREATE TABLE t${i} (id int PRIMARY KEY);`,
      `DROP TABLE t${i};`,
    );
  }
  return files;
}

/**
 * A migrations directory inside a project that resolves `import … from 'revisor'` as an
 * application that installed revisor does (node_modules/revisor links to this repository).
 */
export async function revisorProject(files: Record<string, string> = {}): Promise<string> {
  const root = await testDir('revisor-project-');
  await mkdir(join(root, 'node_modules'));
  await symlink(repoRoot, join(root, 'node_modules', 'revisor'));
  const dir = join(root, 'migrations');
  await mkdir(dir);
  for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text);
  return dir;
}
