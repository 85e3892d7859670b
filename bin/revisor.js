#!/usr/bin/env node
import { enableCompileCache } from 'node:module';

// Caches V8 bytecode between runs: the init-container path starts cold on every pod start.
enableCompileCache?.();
// A reader that stops early (revisor history | head) closes the pipe: that is its choice, not an error.
process.stdout.on('error', (err) => {
  if (err.code !== 'EPIPE') throw err;
  process.exit(process.exitCode ?? 0);
});
const { main } = await import('../dist/cli/revisor/main.js');
process.exitCode = await main(process.argv.slice(2), process.env);
