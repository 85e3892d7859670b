import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from './cli.js';

/** JSON as a Lua table constructor (what Argo CD hands a health script as `obj`). */
export function luaValue(value: unknown): string {
  if (value === null || value === undefined) return 'nil';
  if (typeof value === 'boolean' || typeof value === 'number') return String(value);
  if (typeof value === 'string')
    return `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`;
  if (Array.isArray(value)) return `{${value.map(luaValue).join(', ')}}`;
  return `{${Object.entries(value as Record<string, unknown>)
    .map(([k, v]) => `[${luaValue(k)}] = ${luaValue(v)}`)
    .join(', ')}}`;
}

/** Runs the chart's health check with the real Lua interpreter on a resource as the API server returned it. */
export function argoHealth(resource: unknown): { status: string; message: string } {
  const script = join(repoRoot, 'deploy/argocd/databasemigration-health.lua');
  const program = `obj = ${luaValue(resource)}\nlocal hs = dofile(${luaValue(script)})\nio.write(hs.status, "\\n", hs.message)`;
  const run = spawnSync('lua5.4', ['-'], { input: program, encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`lua5.4 failed: ${run.stderr}`);
  const [status = '', ...message] = run.stdout.split('\n');
  return { status, message: message.join('\n') };
}
