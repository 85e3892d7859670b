import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../support/cli.js';

describe('npm run kube:assets', () => {
  it('tells a newcomer without Go what is missing and how to get it', () => {
    const result = spawnSync('bash', [join(repoRoot, 'scripts/kube-assets.sh')], {
      env: { PATH: '/usr/bin:/bin', HOME: process.env['HOME'] ?? '/tmp' },
      encoding: 'utf8',
    });
    expect(result.status).toBe(3);
    expect(result.stderr).toContain('needs Go (>= 1.26), which is not on PATH');
    expect(result.stderr).toContain('npm run kube:assets');
  });

  it('is a no-op once the pinned versions are built', () => {
    const result = spawnSync('bash', [join(repoRoot, 'scripts/kube-assets.sh')], { encoding: 'utf8' });
    expect(result.status).toBe(0);
    expect(result.stderr).toBe('');
  });
});
