import { appendFile, chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { startEmbedded, stopEmbedded } from '../../src/cli/embedded-postgres.js';
import { projectImage } from './image.js';
import { installCrds, repoRoot } from './kube/cluster.js';
import { nodeSubnet, nodeUnavailable, startNodeCluster } from './kube/node.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Why the node tier cannot run here; '' when it runs. */
    nodeUnavailable: string;
    nodeKubeconfig: string;
    nodeApiPort: number;
    /** A PostgreSQL superuser URL on the bridge's address, which pods reach. */
    nodeDatabaseUrl: string;
    /** The project's image, built from its Dockerfile and loaded into the node's containerd. */
    nodeImage: string;
    nodeContainerdSocket: string;
  }
}

/**
 * The node tier's world, one per run: a real single-node cluster (test/support/kube/node.ts),
 * a PostgreSQL listening on the bridge for pods, and the project's image on the node.
 */
export default async function setup(project: TestProject) {
  const why = nodeUnavailable();
  project.provide('nodeUnavailable', why ?? '');
  if (why) {
    process.stderr.write(`node tier skipped: ${why}\n`);
    return;
  }
  const started = Date.now();
  const image = await projectImage();
  const node = await startNodeCluster();
  const pgDir = await mkdtemp(join(tmpdir(), 'revisor-nodepg-'));
  const teardown = async () => {
    await stopEmbedded(join(pgDir, 'data'), { remove: true }).catch(() => undefined);
    await rm(pgDir, { recursive: true, force: true });
    await node.stop();
  };
  try {
    await chmod(pgDir, 0o755);
    const server = await startEmbedded(join(pgDir, 'data'), {
      alsoListenOn: [nodeSubnet.gateway],
      maxConnections: 300,
    });
    await appendFile(join(server.dir, 'pg_hba.conf'), `host all all ${nodeSubnet.cidr} scram-sha-256\n`);
    const admin = new pg.Client({ connectionString: server.url });
    await admin.connect();
    await admin.query('SELECT pg_reload_conf()');
    await admin.end();
    const url = new URL(server.url);
    url.hostname = nodeSubnet.gateway;
    await installCrds(node.kubeconfig, join(repoRoot, 'deploy/crds'));
    await node.importImage(image);
    project.provide('nodeKubeconfig', node.kubeconfig);
    project.provide('nodeApiPort', node.apiPort);
    project.provide('nodeDatabaseUrl', url.toString());
    project.provide('nodeImage', image);
    project.provide('nodeContainerdSocket', node.containerdSocket);
    process.stderr.write(
      `node tier: cluster, PostgreSQL and image ready in ${((Date.now() - started) / 1000).toFixed(0)}s\n`,
    );
  } catch (err) {
    await teardown();
    throw err;
  }
  return teardown;
}
