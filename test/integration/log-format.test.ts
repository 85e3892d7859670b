import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot, runCli } from '../support/cli.js';
import { createTestDatabase } from '../support/db.js';

const bin = join(repoRoot, 'bin/revisor.js');

/** The CLI under a real pseudo-terminal (util-linux script), as a person at a shell runs it. */
function onTerminal(
  args: readonly string[],
  env: Record<string, string>,
): { code: number | null; output: string } {
  const command = [process.execPath, bin, ...args].map((a) => `'${a.replaceAll("'", `'\\''`)}'`).join(' ');
  const result = spawnSync('script', ['-qec', command, '/dev/null'], {
    cwd: repoRoot,
    env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '/tmp', TERM: 'xterm', ...env },
    encoding: 'utf8',
  });
  return { code: result.status, output: result.stdout };
}

const ansi = /\x1b\[[0-9;]*m/g;

describe('log lines', () => {
  it('on a terminal: one aligned line per step with its duration, no field blocks; JSON lines when piped', async () => {
    const url = await createTestDatabase();
    const tty = onTerminal(['upgrade', '+3'], { DATABASE_URL: url });
    expect(tty.code, tty.output).toBe(0);
    const lines = tty.output.replace(ansi, '').split(/\r?\n/).filter(Boolean);
    const steps = lines.filter((l) => / INFO {2}upgrade /.test(l));
    expect(steps, tty.output).toHaveLength(3);
    for (const line of steps)
      expect(line).toMatch(/^\d\d:\d\d:\d\d INFO {2}upgrade {3}\S+ -> \S+ +.+ +\d+ ms$/);
    // The durations end in the same column, and nothing else was logged.
    expect(new Set(steps.map((l) => l.length)).size).toBe(1);
    expect(lines.filter((l) => !steps.includes(l))).toEqual([
      expect.stringMatching(/^applied 3 revision\(s\); the database is now at \w+$/),
    ]);

    const piped = await runCli(['downgrade', '-1'], { DATABASE_URL: url, REVISOR_LOG_FORMAT: '' });
    expect(piped.code, piped.stderr).toBe(0);
    const events = piped.stderr
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { level: number; msg: string });
    expect(events.map((e) => e.msg)).toEqual([expect.stringMatching(/^running downgrade /)]);
  });

  it('REVISOR_LOG_FORMAT chooses either format wherever it runs', async () => {
    const url = await createTestDatabase();
    const text = await runCli(['upgrade', '+1'], { DATABASE_URL: url, REVISOR_LOG_FORMAT: 'text' });
    expect(text.stderr).toMatch(/^\d\d:\d\d:\d\d INFO {2}upgrade {3}<base> -> /);
    expect(text.stderr).not.toContain('\x1b[');
    const json = onTerminal(['downgrade', 'base'], { DATABASE_URL: url, REVISOR_LOG_FORMAT: 'json' });
    expect(JSON.parse(json.output.split(/\r?\n/)[0]!)).toMatchObject({
      level: 30,
      msg: expect.stringMatching(/^running downgrade/),
    });
  });
});
