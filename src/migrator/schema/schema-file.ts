import { splitSql } from '../chain/sql-split.js';
import { RevisorError } from '../errors/errors.js';
import { pgCode, type Queryable } from '../pg/db.js';

/**
 * A schema file as pg_dump writes it, made SQL: psql meta-commands that only scope the
 * restore are dropped (`\restrict`/`\unrestrict`, written since PostgreSQL's August 2025
 * minors; `\connect` to the one database the file is about), and any other psql-only line
 * is refused by name, file and line, since revisor applies the file as SQL, not as psql
 * would. A meta-command is only ever the first line of a statement (pg_dump writes them
 * between statements), which the splitter's quoting rules tell from a backslash inside a
 * function body.
 */
export interface SchemaStatement {
  readonly sql: string;
  readonly line: number;
}

const scoping = new Set(['restrict', 'unrestrict']);
const connects = new Set(['connect', 'c']);

function usage(file: string, line: number, message: string): RevisorError {
  return new RevisorError('Usage', `${file}:${line}: ${message}`, { file, line });
}

/** The database a `\connect` names: its first argument, or dbname= of a connection string. */
function connectTarget(args: string): string {
  const dbname = /dbname='((?:[^']|'')*)'/.exec(args);
  if (dbname) return dbname[1]!.replace(/''/g, "'");
  const first = /^(?:-reuse-previous=\S+\s+)?("(?:[^"]|"")*"|\S+)/.exec(args.trim())?.[1] ?? '';
  return first.startsWith('"') ? first.slice(1, -1).replace(/""/g, '"') : first;
}

/** The statement from its first line that is not a -- comment: errors point at SQL, not at a comment above it. */
function pastComments(sql: string, line: number): { sql: string; line: number } {
  let rest = sql;
  let at = line;
  while (rest.startsWith('--')) {
    const newline = rest.indexOf('\n');
    if (newline === -1) return { sql: '', line: at };
    const next = rest.slice(newline + 1);
    const trimmed = next.trimStart();
    at += 1 + (next.slice(0, next.length - trimmed.length).match(/\n/g)?.length ?? 0);
    rest = trimmed;
  }
  return { sql: rest, line: at };
}

export function schemaFileStatements(text: string, file: string): SchemaStatement[] {
  const statements: SchemaStatement[] = [];
  let database: string | null = null;
  for (const split of splitSql(text)) {
    let { sql, line } = split;
    ({ sql, line } = pastComments(sql, line));
    while (sql.startsWith('\\')) {
      const newline = sql.indexOf('\n');
      const command = newline === -1 ? sql : sql.slice(0, newline);
      const [, name = '', args = ''] = /^\\(\S*)\s*(.*)$/.exec(command.trim()) ?? [];
      if (connects.has(name)) {
        const target = connectTarget(args);
        if (database !== null && target !== database) {
          throw usage(
            file,
            line,
            `\\connect to a second database (${target} after ${database}): a schema file describes one database; dump it alone with pg_dump -s`,
          );
        }
        database = target;
      } else if (!scoping.has(name)) {
        throw usage(
          file,
          line,
          `\\${name} is a psql meta-command, not SQL; revisor applies schema files as SQL and accepts only ` +
            '\\restrict, \\unrestrict and \\connect (to the one database): remove the line',
        );
      }
      const rest = newline === -1 ? '' : sql.slice(newline + 1);
      const trimmed = rest.trimStart();
      line += 1 + (rest.slice(0, rest.length - trimmed.length).match(/\n/g)?.length ?? 0);
      ({ sql, line } = pastComments(trimmed, line));
    }
    if (/^COPY\b[\s\S]*\bFROM\s+stdin\b/i.test(sql)) {
      throw usage(
        file,
        line,
        'COPY … FROM stdin carries data inline, which only psql reads: a schema file holds the schema (pg_dump -s)',
      );
    }
    if (/^CREATE\s+DATABASE\b/i.test(sql)) {
      throw usage(
        file,
        line,
        'CREATE DATABASE: a schema file describes the objects inside one database (pg_dump -s without --create)',
      );
    }
    if (sql) statements.push({ sql, line });
  }
  return statements;
}

const undefinedParameter = '42704';

/**
 * Applies a schema file to a scratch database, one statement at a time, so a failure
 * names its line. A SET of a parameter this server does not know (a newer pg_dump's
 * transaction_timeout on an older server) only scoped the restore, and is skipped; every
 * session setting the file made is reset after it.
 */
export async function applySchemaFile(db: Queryable, text: string, file: string): Promise<void> {
  for (const statement of schemaFileStatements(text, file)) {
    try {
      await db.query(statement.sql);
    } catch (err) {
      if (pgCode(err) === undefinedParameter && /^SET\s/i.test(statement.sql)) continue;
      throw usage(
        file,
        statement.line,
        `${(err as Error).message} (on a scratch database; fix the file, or dump it again with pg_dump -s)`,
      );
    }
  }
  await db.query('RESET ALL');
}
