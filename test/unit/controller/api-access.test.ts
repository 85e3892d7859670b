import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultAccess, inClusterAccess, kubeconfigAccess } from '../../../src/controller/api/index.js';
import { testDir } from '../../support/temp-dir.js';

const dir = () => testDir('revisor-access-');

const kubeconfig = (
  clusters: Record<string, Record<string, unknown>>,
  users: Record<string, Record<string, unknown>>,
  current?: string,
) =>
  JSON.stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: Object.entries(clusters).map(([name, cluster]) => ({ name, cluster })),
    users: Object.entries(users).map(([name, user]) => ({ name, user })),
    contexts: Object.keys(clusters).map((name) => ({ name, context: { cluster: name, user: name } })),
    ...(current ? { 'current-context': current } : {}),
  });

describe('the API server access read from a kubeconfig', () => {
  it('takes the current context: its server, a token, and a CA file named relative to the kubeconfig', async () => {
    const d = await dir();
    writeFileSync(join(d, 'ca.pem'), 'the CA');
    const file = join(d, 'config');
    writeFileSync(
      file,
      kubeconfig(
        {
          other: { server: 'https://other:6443' },
          test: { server: 'https://127.0.0.1:6443/', 'certificate-authority': 'ca.pem' },
        },
        { other: { token: 'not this one' }, test: { token: 's3cret' } },
        'test',
      ),
    );
    const access = await kubeconfigAccess([file]);
    expect(access.server).toBe('https://127.0.0.1:6443');
    const { headers, tls } = await access.credentials();
    expect(headers).toEqual({ Authorization: 'Bearer s3cret' });
    expect(tls.ca?.toString()).toBe('the CA');
    expect(tls.rejectUnauthorized).toBe(true);
  });

  it('reads client certificates given inline, a token file, and insecure-skip-tls-verify', async () => {
    const d = await dir();
    writeFileSync(join(d, 'token'), 'from-a-file\n');
    const b64 = (text: string) => Buffer.from(text).toString('base64');
    const file = join(d, 'config');
    writeFileSync(
      file,
      kubeconfig(
        { c: { server: 'https://h:1', 'insecure-skip-tls-verify': true, 'tls-server-name': 'kubernetes' } },
        { c: { 'client-certificate-data': b64('CERT'), 'client-key-data': b64('KEY'), tokenFile: 'token' } },
        'c',
      ),
    );
    const { headers, tls } = await (await kubeconfigAccess([file])).credentials();
    expect(headers).toEqual({ Authorization: 'Bearer from-a-file' });
    expect([tls.cert?.toString(), tls.key?.toString(), tls.servername]).toEqual([
      'CERT',
      'KEY',
      'kubernetes',
    ]);
    expect(tls.rejectUnauthorized).toBe(false);
  });

  it('merges KUBECONFIG files as kubectl does: the first to name an entry or a current context wins', async () => {
    const d = await dir();
    const first = join(d, 'first');
    const second = join(d, 'second');
    writeFileSync(first, kubeconfig({ a: { server: 'https://first:1' } }, { a: { token: 'first' } }));
    writeFileSync(
      second,
      kubeconfig(
        { a: { server: 'https://second:1' }, b: { server: 'https://b:1' } },
        { a: { token: 'second' }, b: { token: 'b' } },
        'a',
      ),
    );
    const access = await defaultAccess({ KUBECONFIG: `${first}:${join(d, 'missing')}:${second}` });
    expect(access.server).toBe('https://first:1');
    expect((await access.credentials()).headers).toEqual({ Authorization: 'Bearer first' });
  });

  it('runs an exec plugin through client-node, loaded for it alone', async () => {
    const d = await dir();
    const file = join(d, 'config');
    const credential = JSON.stringify({
      apiVersion: 'client.authentication.k8s.io/v1',
      kind: 'ExecCredential',
      status: { token: 'from-exec' },
    });
    writeFileSync(
      file,
      kubeconfig(
        { c: { server: 'https://h:1' } },
        {
          c: {
            exec: {
              apiVersion: 'client.authentication.k8s.io/v1',
              command: process.execPath,
              args: ['-e', `process.stdout.write(${JSON.stringify(credential)})`],
              interactiveMode: 'Never',
            },
          },
        },
        'c',
      ),
    );
    const access = await kubeconfigAccess([file]);
    expect(access.server).toBe('https://h:1');
    expect((await access.credentials()).headers['Authorization']).toBe('Bearer from-exec');
  });

  it('says what is missing: no current context, a proxy it does not support, no configuration at all', async () => {
    const d = await dir();
    const noContext = join(d, 'none');
    writeFileSync(noContext, kubeconfig({ c: { server: 'https://h:1' } }, { c: {} }));
    await expect(kubeconfigAccess([noContext])).rejects.toThrow(/no current context/);
    const proxied = join(d, 'proxied');
    writeFileSync(
      proxied,
      kubeconfig({ c: { server: 'https://h:1', 'proxy-url': 'http://p:3128' } }, { c: {} }, 'c'),
    );
    await expect(kubeconfigAccess([proxied])).rejects.toThrow(/proxy-url/);
    await expect(defaultAccess({ KUBECONFIG: join(d, 'nothing-here') })).rejects.toThrow(/none of the files/);
    const broken = join(d, 'broken');
    writeFileSync(broken, 'users:\n- name: c\n  user:\n    token: "s3cret-token\n  : [\n');
    const refused = (await kubeconfigAccess([broken]).then(
      () => null,
      (e: unknown) => e,
    )) as Error;
    expect(refused.message).toMatch(/is not valid YAML \(line \d+\)/);
    expect(refused.message).not.toContain('s3cret');
  });
});

describe("the pod's ServiceAccount", () => {
  it('reads the token and CA the kubelet mounts, and the service address from the environment', async () => {
    const d = await dir();
    writeFileSync(join(d, 'token'), 'pod-token');
    writeFileSync(join(d, 'ca.crt'), 'cluster CA');
    const access = inClusterAccess({ KUBERNETES_SERVICE_HOST: 'fd00::1', KUBERNETES_SERVICE_PORT: '443' }, d);
    expect(access.server).toBe('https://[fd00::1]:443');
    const { headers, tls } = await access.credentials();
    expect(headers).toEqual({ Authorization: 'Bearer pod-token' });
    expect(tls.ca?.toString()).toBe('cluster CA');
    expect(() => inClusterAccess({}, d)).toThrow(/not in a pod/);
  });
});
