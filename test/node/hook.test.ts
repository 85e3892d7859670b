import { cp, mkdir, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import { expect, it } from 'vitest';
import { sqlMigration } from '../support/cli.js';
import { repoRoot } from '../support/kube/cluster.js';
import { testDir } from '../support/temp-dir.js';
import {
  applicationImage,
  apply,
  describeOnNode,
  helm,
  imageParts,
  namespace,
  nodeDatabase,
  nodeKubectl,
  podReport,
  until,
} from './support.js';

/**
 * The example chart, copied with the revisor chart beside it where its file:// dependency
 * points: `helm dependency build` writes into the chart's directory, and the end-to-end
 * tier builds the same example at the same time.
 */
async function exampleChart(): Promise<string> {
  const root = await testDir('revisor-app-hook-');
  await cp(join(repoRoot, 'deploy/examples/app-hook'), join(root, 'examples/app-hook'), {
    recursive: true,
    filter: (source) => !source.includes('/charts/') && !source.endsWith('Chart.lock'),
  });
  await mkdir(join(root, 'helm'));
  await symlink(join(repoRoot, 'deploy/helm/revisor'), join(root, 'helm/revisor'));
  await helm(['dependency', 'build', join(root, 'examples/app-hook')]);
  return join(root, 'examples/app-hook');
}

const v1 = {
  '1.sql': sqlMigration(
    'h1',
    null,
    'CREATE TABLE items (id int PRIMARY KEY, name text);',
    'DROP TABLE items;',
  ),
};
// v2 adds a column (pre-deploy: the new pods need it) and drops the old name column once
// they have rolled out (post-deploy: the old pods used it).
const v2 = {
  ...v1,
  '2.sql': sqlMigration(
    'h2',
    'h1',
    'ALTER TABLE items ADD COLUMN title text;',
    'ALTER TABLE items DROP COLUMN title;',
  ),
  '3.sql': sqlMigration(
    'h3',
    'h2',
    'ALTER TABLE items DROP COLUMN name;',
    'ALTER TABLE items ADD COLUMN name text;',
  ).replace('-- migrate:upgrade', '-- phase: post-deploy\n-- migrate:upgrade'),
};

async function history(url: string): Promise<{ revision: string; at: Date }[]> {
  const db = new pg.Client({ connectionString: url });
  await db.connect();
  try {
    const { rows } = await db.query<{ revision: string; at: Date }>(
      "SELECT revision, finished_at AS at FROM revisor_history WHERE outcome = 'applied' AND direction = 'upgrade' ORDER BY id",
    );
    return rows;
  } finally {
    await db.end();
  }
}

const versionOf = async (url: string) => {
  const db = new pg.Client({ connectionString: url });
  await db.connect();
  try {
    return (await db.query<{ v: string }>('SELECT version_num AS v FROM alembic_version')).rows.map(
      (r) => r.v,
    );
  } finally {
    await db.end();
  }
};

/** When each pod of the app became Ready, by the image of its wait container. */
async function appPods(ns: string) {
  const pods = JSON.parse(await nodeKubectl(['get', 'pods', '-n', ns, '-l', 'app=shop-app', '-o', 'json']))
    .items as {
    metadata: { name: string; creationTimestamp: string; deletionTimestamp?: string };
    spec: { initContainers: { image: string }[] };
    status: { conditions?: { type: string; status: string; lastTransitionTime: string }[] };
  }[];
  return pods
    .filter((p) => !p.metadata.deletionTimestamp)
    .map((p) => ({
      name: p.metadata.name,
      image: p.spec.initContainers[0]!.image,
      created: new Date(p.metadata.creationTimestamp),
      ready: p.status.conditions?.find((c) => c.type === 'Ready' && c.status === 'True'),
    }));
}

describeOnNode('hook mode with the example application chart, on a real node', () => {
  it('install migrates before the pods start; upgrade runs pre-deploy before the new pods and post-deploy after the rollout; rollback leaves the schema and the old pods start', async () => {
    const ns = await namespace('hook');
    const url = await nodeDatabase();
    await apply(ns, { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'app-db' }, stringData: { url } });
    const [image1, image2] = [await applicationImage('hook-v1', v1), await applicationImage('hook-v2', v2)];
    const chart = await exampleChart();
    const values = (image: string) => {
      const { repository, tag } = imageParts(image);
      // The application itself: the same image, idling (any image would do).
      return [
        '--set-json',
        `image=${JSON.stringify({ repository, tag })}`,
        '--set-json',
        `revisor.image=${JSON.stringify({ repository, tag, pullPolicy: 'Never' })}`,
        '--set-json',
        `command=${JSON.stringify(['node', '-e', 'setInterval(() => {}, 1 << 30)'])}`,
      ];
    };
    const release = (verb: 'install' | 'upgrade', image: string) =>
      helm([verb, 'shop', chart, '-n', ns, '--wait', '--timeout', '4m', ...values(image)]).catch(
        async (err) => {
          throw new Error(`${String(err)}\n${await podReport(ns)}`);
        },
      );

    await release('install', image1);
    expect(await versionOf(url)).toEqual(['h1']);
    const installed = await appPods(ns);
    expect(installed).toHaveLength(1);
    const [h1] = await history(url);
    // The hook Job applied h1 before the application's pod existed.
    expect(h1!.at.getTime()).toBeLessThan(installed[0]!.created.getTime());

    await release('upgrade', image2);
    expect(await versionOf(url)).toEqual(['h3']);
    const upgraded = (await appPods(ns)).filter((p) => p.image === image2);
    expect(upgraded).toHaveLength(1);
    const steps = new Map((await history(url)).map((r) => [r.revision, r.at.getTime()]));
    const readyAt = new Date(upgraded[0]!.ready!.lastTransitionTime).getTime();
    // pre-deploy (h2) before the new pod was made; post-deploy (h3) after it was Ready.
    expect(steps.get('h2')!).toBeLessThan(upgraded[0]!.created.getTime());
    expect(steps.get('h3')! + 1000).toBeGreaterThanOrEqual(readyAt);

    // Rollback: no hook Job runs (the chart's Jobs are install/upgrade hooks); the schema
    // stays at h3, and the old version's pods start (its wait sees h1 applied and kept).
    const jobsBefore = await nodeKubectl(['get', 'jobs', '-n', ns, '-o', 'name']);
    const stepsBefore = (await history(url)).length;
    await helm(['rollback', 'shop', '1', '-n', ns, '--wait', '--timeout', '4m']);
    await until(
      'the old version Ready again',
      async () => (await appPods(ns)).find((p) => p.image === image1 && p.ready),
      180_000,
      () => podReport(ns),
    );
    expect(await versionOf(url)).toEqual(['h3']);
    expect(await nodeKubectl(['get', 'jobs', '-n', ns, '-o', 'name'])).toBe(jobsBefore);
    expect(await history(url)).toHaveLength(stepsBefore);
  });
});
