import { readFileSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { linearChain, repoRoot, runCli, writeChain } from '../support/cli.js';
import { createTestDatabase } from '../support/db.js';

const bundle = join(repoRoot, 'dist/cli/revisor');

/** The chunks an entry loads before any of its code runs: its static imports, transitively. */
function staticallyLoaded(entry: string): Map<string, string> {
  const loaded = new Map<string, string>();
  const visit = (file: string) => {
    if (loaded.has(file)) return;
    const text = readFileSync(join(bundle, file), 'utf8');
    loaded.set(file, text);
    for (const [, imported] of text.matchAll(/^import (?:[^'"]* from )?"\.\/([^"]+)";$/gm)) visit(imported!);
  };
  visit(entry);
  return loaded;
}

// The init container's no-op is what every pod start pays: the bundle's layout
// (rolldown.config.mjs) keeps the migrator out of it, and nothing but this notices when an
// import undoes that.
describe("the CLI bundle's no-op path", () => {
  it('loads no migrator, no schema reader and no Kubernetes client before upgrade decides there is work', () => {
    const loaded = [...staticallyLoaded('main.js').values()].join('\n');
    expect(loaded).toContain('// src/cli/commands/upgrade.ts');
    expect(loaded).toContain('// src/migrator/chain/index-file.ts');
    for (const heavy of [
      '// src/migrator/run/migrator.ts',
      '// src/migrator/chain/loader.ts',
      '// src/migrator/schema/',
      '// node_modules/@kubernetes/',
    ])
      expect(loaded).not.toContain(heavy);
  });

  it("connects with node:crypto's SCRAM, not pg's WebCrypto one, and imports builtins without their ES facades", () => {
    const loaded = [...staticallyLoaded('main.js').values()].join('\n');
    expect(loaded).toContain('// src/migrator/pg/scram-crypto.ts');
    expect(loaded).not.toContain('subtleCrypto');
    expect(loaded).not.toMatch(/^import .* from "node:/m);
  });

  it('starts without the builtins it never uses: no node:dns, node:fs/promises or navigator', async () => {
    const chain = await writeChain(linearChain(3));
    const env = { DATABASE_URL: await createTestDatabase(), REVISOR_MIGRATIONS: chain };
    expect((await runCli(['upgrade', 'head'], env)).code).toBe(0);
    // Node's own list of the builtin modules the process loaded, written as it exits.
    const scratch = await writeChain({});
    const list = join(scratch, 'modules.txt');
    const hook = join(scratch, 'modules.cjs');
    await writeFile(
      hook,
      `process.on('exit', () => require('node:fs').writeFileSync(${JSON.stringify(list)}, process.moduleLoadList.join('\\n')));`,
    );
    const noop = await runCli(['upgrade', 'head'], { ...env, NODE_OPTIONS: `--require ${hook}` });
    expect(noop.code).toBe(0);
    const loaded = (await readFile(list, 'utf8')).split('\n');
    expect(loaded).toContain('NativeModule net');
    for (const unused of ['dns', 'fs/promises', 'internal/navigator', 'internal/readline/interface'])
      expect(loaded).not.toContain(`NativeModule ${unused}`);
    // node:crypto loads for SCRAM, after net (not with the bundle's first chunk, as it did);
    // a command that connects nowhere never loads it.
    expect(loaded.indexOf('NativeModule crypto')).toBeGreaterThan(
      loaded.indexOf('Internal Binding tcp_wrap'),
    );
    expect((await runCli(['--version'], { ...env, NODE_OPTIONS: `--require ${hook}` })).code).toBe(0);
    expect((await readFile(list, 'utf8')).split('\n')).not.toContain('NativeModule crypto');
  });
});
