import { spawn } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot, runCli, writeChain } from '../support/cli.js';
import { createTestDatabase } from '../support/db.js';
import { attribute, otlpReceiver } from '../support/otlp.js';

describe('OpenTelemetry traces', () => {
  let otlp: Awaited<ReturnType<typeof otlpReceiver>>;
  beforeAll(async () => {
    otlp = await otlpReceiver();
  });
  afterAll(() => otlp.server.close());

  it("a run is one trace: the run, its lock wait and each step, under the caller's traceparent, without credentials", async () => {
    const url = await createTestDatabase();
    const traceId = 'a'.repeat(32);
    const parent = 'b'.repeat(16);
    const run = await runCli(['upgrade', 'head'], {
      DATABASE_URL: url,
      OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url,
      TRACEPARENT: `00-${traceId}-${parent}-01`,
    });
    expect(run.code, run.stderr).toBe(0);
    const trace = otlp.spans.filter((s) => s.traceId === traceId);
    const root = trace.find((s) => s.name === 'revisor upgrade');
    expect(root?.parentSpanId).toBe(parent);
    const children = trace.filter((s) => s.parentSpanId === root?.spanId).map((s) => s.name);
    expect(children).toEqual(
      expect.arrayContaining([
        'lock wait',
        'upgrade 972fc63ffb69',
        'upgrade 567cc0f251e5',
        'upgrade c0b7d0e366e7',
      ]),
    );
    const step = trace.find((s) => s.name === 'upgrade c0b7d0e366e7')!;
    expect(attribute(step, 'revisor.revision')).toBe('c0b7d0e366e7');
    expect(attribute(step, 'revisor.outcome')).toBe('applied');
    const password = new URL(url).password;
    expect(otlp.bodies.join('\n')).not.toContain(password);
  });

  it('without an endpoint, the SDK is not even loaded', async () => {
    const dir = await writeChain({});
    const log = join(dir, 'resolved.log');
    await writeFile(
      join(dir, 'hooks.mjs'),
      `import { appendFileSync } from 'node:fs';\nexport async function resolve(specifier, context, next) {\n` +
        `  if (specifier.startsWith('@opentelemetry')) appendFileSync(${JSON.stringify(log)}, specifier + '\\n');\n` +
        '  return next(specifier, context);\n}\n',
    );
    await writeFile(
      join(dir, 'register.mjs'),
      `import { register } from 'node:module';\nregister(${JSON.stringify(`file://${join(dir, 'hooks.mjs')}`)});\n`,
    );
    await writeFile(log, '');
    const url = await createTestDatabase();
    const run = (env: Record<string, string>) =>
      new Promise<number | null>((resolve) => {
        const child = spawn(
          process.execPath,
          ['--import', join(dir, 'register.mjs'), join(repoRoot, 'bin/revisor.js'), 'upgrade', 'head'],
          {
            env: { PATH: process.env['PATH'] ?? '', DATABASE_URL: url, REVISOR_LOG_LEVEL: 'warn', ...env },
            stdio: 'ignore',
          },
        );
        child.on('close', resolve);
      });
    expect(await run({})).toBe(0);
    expect(await run({})).toBe(0); // the no-op
    expect(await readFile(log, 'utf8')).toBe('');
    // The same hook sees the SDK once an endpoint is set: the check can fail.
    expect(await run({ OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url })).toBe(0);
    expect(await readFile(log, 'utf8')).toContain('@opentelemetry/sdk-trace');
  });
});
