#!/usr/bin/env node
import { enableCompileCache } from 'node:module';

// Caches V8 bytecode between runs: the init-container path starts cold on every pod start.
enableCompileCache?.();
const { main } = await import('../dist/cli/revisor/main.js');
process.exitCode = await main(process.argv.slice(2), process.env);
