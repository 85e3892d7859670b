import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot, runCli } from '../support/cli.js';

describe('the CLI for a newcomer', () => {
  it('--version prints the package version', async () => {
    const result = await runCli(['--version']);
    expect(result.code).toBe(0);
    expect(result.stdout.trim()).toMatch(/^revisor \d+\.\d+\.\d+/);
  });

  it('a mistyped command suggests the nearest one in one line, without the whole help', async () => {
    const result = await runCli(['upgrde']);
    expect(result.code).toBe(2);
    expect(result.stderr.trim()).toBe(
      'revisor: unknown command "upgrde"; did you mean "upgrade"? "revisor --help" lists the commands',
    );
    const far = await runCli(['zzzz']);
    expect(far.stderr).not.toContain('did you mean');
  });

  it("a command's help shows its own options in full and the global ones by name; --help-all describes them", async () => {
    const help = await runCli(['upgrade', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('--phase <value>');
    expect(help.stdout).toContain('global options (every command; --help-all describes them):');
    expect(help.stdout).not.toContain('[REVISOR_LOCK_WAIT]');
    expect(help.stdout.split('\n').length).toBeLessThan(20);
    const all = await runCli(['upgrade', '--help-all']);
    expect(all.stdout).toContain('--lock-wait <value>');
    expect(all.stdout).toContain('[REVISOR_LOCK_WAIT]');
  });

  it('a reader that stops early closes the pipe: exit 0, no stack trace', () => {
    const bin = join(repoRoot, 'bin/revisor.js');
    const script = `"${process.execPath}" "${bin}" sql upgrade head | true; echo "exit \${PIPESTATUS[0]}"`;
    const piped = spawnSync('bash', ['-c', script], { encoding: 'utf8' });
    expect(piped.stdout.trim()).toBe('exit 0');
    expect(piped.stderr).toBe('');
  });
});
