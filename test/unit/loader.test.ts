import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { RevisionGraph } from '../../src/migrator/chain/graph.js';
import { loadMigrations } from '../../src/migrator/chain/loader.js';
import { splitSql } from '../../src/migrator/chain/sql-split.js';
import { isRevisorError } from '../../src/migrator/errors/errors.js';
import { testDir } from '../support/temp-dir.js';

const sqlFile = (rev: string, down: string, body = 'CREATE TABLE t (id int);', extra = '') =>
  `-- revision: ${rev}\n-- down_revision: ${down}\n-- message: m ${rev}\n${extra}-- migrate:upgrade\n${body}\n-- migrate:downgrade\nDROP TABLE t;\n`;

async function dirWith(files: Record<string, string>): Promise<string> {
  const dir = await testDir('revisor-load-');
  for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text);
  return dir;
}

async function loadError(files: Record<string, string>): Promise<string> {
  const dir = await dirWith(files);
  try {
    RevisionGraph.build(await loadMigrations(dir));
  } catch (err) {
    if (isRevisorError(err, 'MigrationLoadError')) return err.message;
    throw err;
  }
  throw new Error('expected a load error');
}

describe('loading a migrations directory', () => {
  it('builds the graph from headers, not file names, mixing SQL and TypeScript', async () => {
    const dir = await dirWith({
      'zzz_first.sql': sqlFile('aaa111', 'None'),
      'aaa_second.sql': sqlFile(
        'bbb222',
        'aaa111',
        'CREATE INDEX CONCURRENTLY i ON t (id);',
        '-- transactional: false\n',
      ),
      'merge.ts': `export default { revision: 'ccc333', downRevision: ['aaa111', 'bbb222'], message: 'm', upgrade() {}, downgrade() {} };`,
      'notes.txt': 'ignored',
    });
    const graph = RevisionGraph.build(await loadMigrations(dir));
    expect(graph.bases).toEqual(['aaa111']);
    expect(graph.heads).toEqual(['ccc333']);
    expect(graph.get('bbb222').transactional).toBe(false);
    expect(graph.get('ccc333').downRevisions).toEqual(['aaa111', 'bbb222']);
    expect(graph.get('bbb222').upgrade()).toEqual([
      { sql: 'CREATE INDEX CONCURRENTLY i ON t (id)', line: 6 },
    ]);
  });

  it('names file and line for a duplicate id', async () => {
    const message = await loadError({
      'a.sql': sqlFile('aaa111', 'None'),
      'b.sql': sqlFile('aaa111', 'None'),
    });
    expect(message).toMatch(/b\.sql:1: duplicate revision id aaa111 \(also in .*a\.sql:1\)/);
  });

  it('names file and line for an unknown down_revision', async () => {
    const message = await loadError({ 'a.sql': sqlFile('aaa111', 'fff999') });
    expect(message).toMatch(/a\.sql:2: revision aaa111 has unknown down_revision fff999/);
  });

  it('reports a cycle with its path', async () => {
    const message = await loadError({
      'a.sql': sqlFile('aaa111', 'bbb222'),
      'b.sql': sqlFile('bbb222', 'aaa111'),
    });
    expect(message).toMatch(/cycle: (aaa111 -> bbb222 -> aaa111|bbb222 -> aaa111 -> bbb222)/);
  });

  it('reports a missing section and malformed headers with their line', async () => {
    expect(
      await loadError({
        'a.sql': '-- revision: aaa111\n-- down_revision: None\n-- migrate:upgrade\nSELECT 1;\n',
      }),
    ).toMatch(/a\.sql:4: missing section "-- migrate:downgrade"/);
    expect(await loadError({ 'a.sql': '-- revision: aaa111\nSELECT 1;\n' })).toMatch(
      /a\.sql:2: malformed header line/,
    );
    expect(await loadError({ 'a.sql': sqlFile('aaa111', 'None', 'SELECT 1;', '-- colour: red\n') })).toMatch(
      /a\.sql:4: unknown header "colour"/,
    );
    expect(await loadError({ 'a.sql': sqlFile('not a valid id!', 'None') })).toMatch(
      /a\.sql:1: malformed revision id/,
    );
    expect(
      await loadError({ 'a.sql': sqlFile('aaa111', 'None', 'SELECT 1;', '-- transactional: maybe\n') }),
    ).toMatch(/a\.sql:4: transactional must be true or false/);
    expect(
      await loadError({ 'a.sql': '-- down_revision: None\n-- migrate:upgrade\n-- migrate:downgrade\n' }),
    ).toMatch(/missing header "-- revision/);
  });

  it('reports a module without a default export or upgrade', async () => {
    expect(await loadError({ 'a.mjs': 'export const x = 1;' })).toMatch(
      /a\.mjs: cannot load migration module: no default export/,
    );
    expect(
      await loadError({
        'a.mjs': "export default { revision: 'aaa111', downRevision: null, message: '', downgrade() {} };",
      }),
    ).toMatch(/a\.mjs: missing upgrade/);
  });
});

describe('splitSql', () => {
  it('splits at top-level semicolons only, keeping start lines', () => {
    const text = [
      "INSERT INTO t VALUES ('a;b');",
      '-- a comment; with a semicolon',
      'CREATE FUNCTION f() RETURNS int AS $body$ BEGIN RETURN 1; END $body$ LANGUAGE plpgsql;',
      '/* block; comment */ SELECT "semi;colon" FROM t;',
      "SELECT E'it\\'s;';",
      '',
    ].join('\n');
    expect(splitSql(text)).toEqual([
      { sql: "INSERT INTO t VALUES ('a;b')", line: 1 },
      {
        sql: 'CREATE FUNCTION f() RETURNS int AS $body$ BEGIN RETURN 1; END $body$ LANGUAGE plpgsql',
        line: 3,
      },
      { sql: '/* block; comment */ SELECT "semi;colon" FROM t', line: 4 },
      { sql: "SELECT E'it\\'s;'", line: 5 },
    ]);
  });
});
