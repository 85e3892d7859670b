import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { linearChain, runCli, writeChain } from '../support/cli.js';
import { createTestDatabase } from '../support/db.js';

/** A stand-in Pushgateway that records what it receives; the run's side is the real CLI. */
async function pushgateway() {
  const received: { method: string; url: string; body: string }[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      received.push({ method: req.method ?? '', url: req.url ?? '', body });
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    received,
    close: () => server.close(),
  };
}

describe('--pushgateway-url', () => {
  it("pushes the run's metrics, grouped by command and instance", async () => {
    const gateway = await pushgateway();
    try {
      const url = await createTestDatabase();
      const dir = await writeChain(linearChain(2));
      const result = await runCli(['upgrade', '--pushgateway-url', gateway.url], {
        DATABASE_URL: url,
        REVISOR_MIGRATIONS: dir,
        POD_NAME: 'app-7f9c-hook',
      });
      expect(result.code).toBe(0);
      expect(gateway.received).toHaveLength(1);
      const [push] = gateway.received;
      expect(push!.method).toBe('POST');
      expect(push!.url).toBe('/metrics/job/revisor/command/upgrade/instance/app-7f9c-hook');
      expect(push!.body).toContain(
        'revisor_migrations_applied_total{direction="upgrade",result="success"} 2',
      );
      expect(push!.body).toContain('revisor_current_revision_info{revision="rev2"} 1');
      expect(push!.body).toMatch(/revisor_last_run_timestamp_seconds\{result="success"\} \d+/);
    } finally {
      gateway.close();
    }
  });

  it('logs an unreachable Pushgateway without failing the migration', async () => {
    const url = await createTestDatabase();
    const dir = await writeChain(linearChain(1));
    const result = await runCli(['upgrade', '--pushgateway-url', 'http://127.0.0.1:1'], {
      DATABASE_URL: url,
      REVISOR_MIGRATIONS: dir,
    });
    expect(result.code).toBe(0);
    expect(result.stderr).toContain('could not push metrics to the Pushgateway');
  });
});
