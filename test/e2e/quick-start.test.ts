import { spawn, spawnSync } from 'node:child_process';
import { chmod, cp, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { repoRoot } from '../support/cli.js';

/** The shell commands of the README's code block under `heading`, comments dropped. */
function commandsUnder(readme: string, heading: string): string[] {
  const section = readme.slice(readme.indexOf(`## ${heading}`));
  const block = /```sh\n([\s\S]*?)```/.exec(section)?.[1] ?? '';
  return block
    .split('\n')
    .map((line) => line.replace(/\s+#.*$/, '').trim())
    .filter(Boolean);
}

/**
 * What a newcomer would not understand: npm's warnings, Node's process warnings, stack
 * traces, JSON log lines or escaped JSON on a terminal, an error class. Each command's
 * output is checked line by line against these.
 */
const confusing = [
  /npm warn/i,
  /EBADENGINE/,
  /\(node:\d+\) \w*Warning/,
  /^\s+at .+:\d+:\d+\)?$/,
  /^\{"level":/,
  /\\"/,
  /revisor: error \[/,
];

/** A command on a terminal (a pseudo-terminal from util-linux script), as a person types it. */
function run(
  command: string,
  cwd: string,
  env: NodeJS.ProcessEnv,
): Promise<{ code: number | null; output: string }> {
  return new Promise((resolveRun) => {
    const child = spawn('script', ['-qec', command, '/dev/null'], {
      cwd,
      env: { ...env, TERM: 'xterm' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    child.on('close', (code) =>
      resolveRun({ code, output: output.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '').replaceAll('\r', '') }),
    );
  });
}

describe("the README's quick start, as written, on a fresh copy of the repository", () => {
  it('every command succeeds and prints nothing a newcomer would not understand', async () => {
    const root = await mkdtemp(join(tmpdir(), 'revisor-quick-start-'));
    // The embedded PostgreSQL runs as the postgres user, which must reach its directory.
    await chmod(root, 0o755);
    const copy = join(root, 'revisor');
    const env: NodeJS.ProcessEnv = {
      // A newcomer's shell: the machine's own Node and npm, nothing of this checkout's.
      PATH: (process.env['PATH'] ?? '')
        .split(':')
        .filter((dir) => !dir.includes('node_modules'))
        .join(':'),
      HOME: process.env['HOME'] ?? '/tmp',
      ...(process.env['GOCACHE'] ? { GOCACHE: process.env['GOCACHE'] } : {}),
      ...(process.env['GOMODCACHE'] ? { GOMODCACHE: process.env['GOMODCACHE'] } : {}),
    };
    onTestFinished(async () => {
      spawnSync('npx', ['revisor', 'embedded', 'stop'], { cwd: copy, env });
      await rm(root, { recursive: true, force: true });
    });
    // The files a clone has: tracked ones, and new ones not ignored.
    const files = spawnSync('git', ['ls-files', '-co', '--exclude-standard'], {
      cwd: repoRoot,
      encoding: 'utf8',
    })
      .stdout.split('\n')
      .filter(Boolean);
    for (const file of files) {
      await mkdir(dirname(join(copy, file)), { recursive: true });
      await cp(join(repoRoot, file), join(copy, file), { verbatimSymlinks: true });
    }

    const readme = await readFile(join(copy, 'README.md'), 'utf8');
    const commands = [...commandsUnder(readme, 'Try it'), ...commandsUnder(readme, 'The CLI in 60 seconds')];
    expect(commands.slice(0, 2)).toEqual(['npm ci', 'npm run demo']);
    expect(commands.length).toBeGreaterThan(6);
    const transcript: string[] = [];
    for (const command of commands) {
      const { code, output } = await run(command, copy, env);
      transcript.push(`$ ${command}`, output);
      expect(code, `${command}\n${output}`).toBe(0);
      const unclear = output.split('\n').filter((line) => confusing.some((pattern) => pattern.test(line)));
      expect(unclear, `${command}\n${output}`).toEqual([]);
      if (command === 'npm run demo') {
        expect(output).toMatch(/app +head +\w{12} +True +Applied/);
        expect(output).toContain('Left running: the embedded PostgreSQL');
      }
    }
    const tour = transcript.join('\n');
    // The tour continues where the demo stopped: the new revision lands on the demo's head.
    expect(tour).toMatch(/upgrade {3}c0b7d0e366e7 -> \w{12} +add orders/);
    expect(tour).toContain('stopped the embedded PostgreSQL');
  }, 900_000);
});
