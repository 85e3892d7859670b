import type * as http from 'node:http';
import * as https from 'node:https';
import type * as k8s from '@kubernetes/client-node';

// The tests and benches talk to the API server through client-node; the controller has its
// own client (src/controller/api).
type AgentFactory = (cluster: k8s.Cluster | null, options: https.AgentOptions) => http.Agent;

/**
 * One keep-alive agent for every request of this kubeconfig. client-node 1.4 builds a new
 * https.Agent per request (createAgent), so each request paid a TCP and TLS handshake and
 * left a TLS context behind. createAgent is private in its types, so it is replaced on the
 * instance; the agent is made again only when the TLS material changes (a rotated client
 * certificate), and requests through a proxy keep client-node's own agents.
 */
export function shareAgents(kc: k8s.KubeConfig): k8s.KubeConfig {
  const instance = kc as unknown as { createAgent: AgentFactory };
  const original = instance.createAgent.bind(kc);
  let shared: { agent: http.Agent; parts: readonly unknown[] } | null = null;
  instance.createAgent = (cluster, options) => {
    if (cluster?.proxyUrl || cluster?.server.startsWith('http:')) return original(cluster, options);
    const { ca, cert, key, pfx, servername, rejectUnauthorized } = options;
    const parts = [cluster?.server, ca, cert, key, pfx, servername, rejectUnauthorized];
    // client-node hands new Buffers of the same certificates with every request: they are
    // compared by content (a memcmp of a few KB), not serialized and hashed each time.
    if (shared && parts.every((part, i) => sameMaterial(part, shared!.parts[i]))) return shared.agent;
    shared?.agent.destroy();
    shared = { agent: new https.Agent({ ...options, keepAlive: true, maxFreeSockets: 16 }), parts };
    return shared.agent;
  };
  return kc;
}

const sameMaterial = (a: unknown, b: unknown): boolean =>
  a === b || (Buffer.isBuffer(a) && Buffer.isBuffer(b) && a.equals(b));
