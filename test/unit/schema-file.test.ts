import { describe, expect, it } from 'vitest';
import { isRevisorError, schemaFileStatements } from '../../src/migrator/index.js';

const refusal = (text: string) => {
  try {
    schemaFileStatements(text, 'dump.sql');
  } catch (err) {
    if (isRevisorError(err, 'Usage')) return err.message;
    throw err;
  }
  throw new Error('not refused');
};

describe('schema files with psql meta-commands', () => {
  it("drops \\restrict, \\unrestrict and \\connect to the one database, keeping each statement's line", () => {
    const text = [
      '\\restrict Xyz123',
      '-- comment',
      "SET client_encoding = 'UTF8';",
      '\\connect app',
      '',
      'CREATE TABLE a (id int);',
      '\\connect -reuse-previous=on "dbname=\'app\'"',
      'CREATE FUNCTION f() RETURNS text LANGUAGE sql AS $$',
      "\\x is not a command here'",
      '$$;',
      '\\unrestrict Xyz123',
    ].join('\n');
    expect(schemaFileStatements(text, 'dump.sql')).toEqual([
      { sql: "SET client_encoding = 'UTF8'", line: 3 },
      { sql: 'CREATE TABLE a (id int)', line: 6 },
      { sql: "CREATE FUNCTION f() RETURNS text LANGUAGE sql AS $$\n\\x is not a command here'\n$$", line: 8 },
    ]);
  });

  it('refuses other meta-commands, a second database, inline data and CREATE DATABASE, by file and line', () => {
    expect(refusal('CREATE TABLE a (id int);\n\\i more.sql\n')).toMatch(
      /^dump\.sql:2: \\i is a psql meta-command/,
    );
    expect(refusal('\\connect one\nCREATE TABLE a (id int);\n\\connect two\n')).toMatch(
      /^dump\.sql:3: \\connect to a second database \(two after one\)/,
    );
    expect(refusal('COPY a (id) FROM stdin;\n1\n\\.\n')).toMatch(/^dump\.sql:1: COPY … FROM stdin/);
    expect(refusal('CREATE DATABASE app;\n')).toMatch(/^dump\.sql:1: CREATE DATABASE/);
  });
});
