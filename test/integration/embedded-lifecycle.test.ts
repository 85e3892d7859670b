import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { runCli } from '../support/cli.js';

describe('the embedded PostgreSQL a newcomer meets', () => {
  it('says where it runs and that it stays up; revisor embedded shows it and stops it', async () => {
    const root = await mkdtemp(join(tmpdir(), 'revisor-embedded-'));
    await chmod(root, 0o755);
    const env = { REVISOR_EMBEDDED_DIR: join(root, 'postgres'), REVISOR_LOG_FORMAT: 'json' };
    onTestFinished(async () => {
      await runCli(['embedded', 'stop'], env);
      await rm(root, { recursive: true, force: true });
    });
    expect((await runCli(['embedded'], env)).stdout).toContain('no embedded PostgreSQL in');
    const current = await runCli(['current'], env);
    expect(current.code, current.stderr).toBe(0);
    // The command that starts it says, in one warning, where and how to stop it.
    const warnings = current.stderr.split('\n').filter((l) => l.includes('"level":40'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain(
      'it keeps running for the next command: \\"revisor embedded stop\\" stops it',
    );
    // The next one finds it running and says nothing but its answer.
    const again = await runCli(['current'], env);
    expect(again.stderr.split('\n').filter((l) => l.includes('"level":40'))).toEqual([]);
    const running = await runCli(['embedded'], env);
    expect(running.stdout).toMatch(/is running on 127\.0\.0\.1:\d+/);
    expect((await runCli(['embedded', 'stop'], env)).stdout).toContain('stopped the embedded PostgreSQL');
    expect((await runCli(['embedded'], env)).stdout).toContain('is stopped');
    expect((await runCli(['embedded', 'restart'], env)).code).toBe(2);
  });
});
