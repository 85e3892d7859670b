import type * as k8s from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { shareAgents } from '../../support/kube/share-agents.js';

type Factory = (
  cluster: { server: string; proxyUrl?: string } | null,
  options: Record<string, unknown>,
) => unknown;

// client-node's createAgent is private: the narrow shape shareAgents replaces.
const kubeConfig = () => {
  const own: unknown[] = [];
  const kc = { createAgent: () => own[own.push({ own: true }) - 1] } as unknown as k8s.KubeConfig;
  return { kc: shareAgents(kc) as unknown as { createAgent: Factory }, own };
};
const cluster = { server: 'https://127.0.0.1:6443' };
const pem = (text: string) => ({
  ca: Buffer.from(`ca ${text}`),
  cert: Buffer.from(`cert ${text}`),
  key: Buffer.from('key'),
});

describe('one keep-alive agent per kubeconfig', () => {
  it('is handed again for new Buffers of the same certificates, and made anew when one changes', () => {
    const { kc } = kubeConfig();
    const first = kc.createAgent(cluster, pem('one')) as { destroyed?: boolean; destroy(): void };
    expect(kc.createAgent(cluster, pem('one'))).toBe(first);
    const rotated = kc.createAgent(cluster, pem('two'));
    expect(rotated).not.toBe(first);
    expect(kc.createAgent(cluster, pem('two'))).toBe(rotated);
  });

  it("leaves plain HTTP and proxied clusters to client-node's own agents", () => {
    const { kc, own } = kubeConfig();
    kc.createAgent({ server: 'http://127.0.0.1:8080' }, {});
    kc.createAgent({ ...cluster, proxyUrl: 'http://proxy:3128' }, pem('one'));
    expect(own).toHaveLength(2);
  });
});
