import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../support/cli.js';

describe('npm run kube:assets', () => {
  it('without Go on PATH, fetches the Go toolchain from the Go module proxy once and builds with it', () => {
    const result = spawnSync('bash', [join(repoRoot, 'scripts/kube-assets.sh'), 'apiserver'], {
      env: { PATH: '/usr/bin:/bin', HOME: process.env['HOME'] ?? '/tmp' },
      encoding: 'utf8',
    });
    expect(result.status, result.stderr).toBe(0);
    const go = join(repoRoot, '.cache/go/go1.26.8/bin/go');
    expect(existsSync(go)).toBe(true);
    expect(spawnSync(go, ['env', 'GOVERSION'], { encoding: 'utf8' }).stdout.trim()).toBe('go1.26.8');
  });

  it('is a no-op once the pinned versions are built', () => {
    const result = spawnSync('bash', [join(repoRoot, 'scripts/kube-assets.sh')], { encoding: 'utf8' });
    expect(result.status).toBe(0);
    expect(result.stderr).toBe('');
  });
});
