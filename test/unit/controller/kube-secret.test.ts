import { describe, expect, it } from 'vitest';
import { KubeCluster } from '../../../src/controller/kube.js';
import { standInApi } from '../../support/kube/stand-in-api.js';

const secret = (url: string) =>
  JSON.stringify({
    metadata: { name: 'db', annotations: { a: 'b' } },
    data: { url: Buffer.from(url).toString('base64') },
  });

/** What each GET asked for: its path and resourceVersion ('' when it named none). */
async function clusterAnswering(answer: (resourceVersion: string) => [number, string]) {
  const asked: string[] = [];
  const api = await standInApi((req, res) => {
    const url = new URL(req.url ?? '', 'http://x');
    const version = url.searchParams.get('resourceVersion') ?? '';
    asked.push(`${url.pathname} ${version}`);
    const [status, body] = answer(version);
    res.writeHead(status, { 'Content-Type': 'application/json' });
    res.end(body);
  });
  return { cluster: new KubeCluster(api), asked };
}

describe("a Secret read for a pass (the API server's part runs for real in the e2e tier)", () => {
  it("is read from the API server's cache, once, and decoded", async () => {
    const { cluster, asked } = await clusterAnswering(() => [200, secret('postgres://u:p@h/db')]);
    expect(await cluster.secret('ns', 'db')).toEqual({
      data: { url: 'postgres://u:p@h/db' },
      annotations: { a: 'b' },
    });
    expect(asked).toEqual(['/api/v1/namespaces/ns/secrets/db 0']);
  });

  it('one the cache does not hold yet is asked of etcd before it is called missing', async () => {
    const notFound = [404, '{"kind":"Status","code":404}'] as [number, string];
    const lagging = await clusterAnswering((version) =>
      version === '0' ? notFound : [200, secret('postgres://new')],
    );
    expect((await lagging.cluster.secret('ns', 'db'))?.data).toEqual({ url: 'postgres://new' });
    expect(lagging.asked).toEqual([
      '/api/v1/namespaces/ns/secrets/db 0',
      '/api/v1/namespaces/ns/secrets/db ',
    ]);

    const absent = await clusterAnswering(() => notFound);
    expect(await absent.cluster.secret('ns', 'db')).toBeNull();
    expect(absent.asked).toHaveLength(2);
  });

  it('a refusal is not retried from etcd: it reaches the pass with its status', async () => {
    const { cluster, asked } = await clusterAnswering(() => [403, '{"kind":"Status","code":403}']);
    await expect(cluster.secret('ns', 'db')).rejects.toMatchObject({ status: 403 });
    expect(asked).toHaveLength(1);
  });
});
