/**
 * Splits a SQL script into statements at top-level semicolons, respecting quotes,
 * dollar quoting and comments. Each statement keeps the 1-based line it starts on so
 * an error can point into the file. Statements must run one at a time: PostgreSQL runs
 * a multi-statement string as one implicit transaction, where CREATE INDEX
 * CONCURRENTLY is refused.
 */
export interface SplitStatement {
  sql: string;
  line: number;
}

export function splitSql(text: string, firstLine = 1): SplitStatement[] {
  const statements: SplitStatement[] = [];
  let start = 0;
  let line = firstLine;
  let startLine: number | null = null;
  let startIndex = 0;
  let i = 0;
  const n = text.length;

  const flush = (end: number) => {
    const sql = text.slice(startLine === null ? start : startIndex, end).trim();
    const commentFirst = sql.startsWith('--') || sql.startsWith('/*');
    if (sql.length > 0 && !(commentFirst && isOnlyComments(sql)))
      statements.push({ sql, line: startLine ?? line });
    startLine = null;
  };

  while (i < n) {
    const ch = text[i]!;
    const next = text[i + 1];
    if (ch === '\n') {
      line++;
      i++;
      continue;
    }
    if (ch === ' ' || ch === '\t' || ch === '\r' || ch === '\f' || ch === '\v') {
      i++;
      continue;
    }
    if (ch === '-' && next === '-') {
      while (i < n && text[i] !== '\n') i++;
      continue;
    }
    if (startLine === null && ch !== ';') {
      startLine = line;
      startIndex = i;
    }
    if (ch === '/' && next === '*') {
      let depth = 1;
      i += 2;
      while (i < n && depth > 0) {
        if (text[i] === '\n') line++;
        if (text[i] === '/' && text[i + 1] === '*') {
          depth++;
          i += 2;
        } else if (text[i] === '*' && text[i + 1] === '/') {
          depth--;
          i += 2;
        } else i++;
      }
      continue;
    }
    if (ch === "'" || ch === '"') {
      const escapes = ch === "'" && (text[i - 1] === 'E' || text[i - 1] === 'e');
      i++;
      while (i < n) {
        const c = text[i]!;
        if (c === '\n') line++;
        if (escapes && c === '\\') {
          i += 2;
          continue;
        }
        if (c === ch) {
          if (text[i + 1] === ch) {
            i += 2;
            continue;
          }
          break;
        }
        i++;
      }
      i++;
      continue;
    }
    if (ch === '$') {
      const tag = /^\$([A-Za-z_][A-Za-z0-9_]*)?\$/.exec(text.slice(i, i + 64));
      if (tag && !/[A-Za-z0-9_]/.test(text[i - 1] ?? '')) {
        const close = text.indexOf(tag[0], i + tag[0].length);
        const end = close === -1 ? n : close + tag[0].length;
        for (let k = i; k < end; k++) if (text[k] === '\n') line++;
        i = end;
        continue;
      }
    }
    if (ch === ';') {
      flush(i);
      start = i + 1;
    }
    i++;
  }
  flush(n);
  return statements;
}

function isOnlyComments(sql: string): boolean {
  return (
    sql
      .replace(/--[^\n]*/g, '')
      .replace(/\/\*[\s\S]*?\*\//g, '')
      .trim().length === 0
  );
}
