/**
 * What an Alembic revision script declares, read from its text without running it: the
 * module docstring and the module-level assignments of `revision`, `down_revision`,
 * `branch_labels` and `depends_on` (plain or annotated, e.g.
 * `down_revision: Union[str, None] = 'ae1027a6acf'`), whose values Alembic's template
 * writes as literals: None, a string, or a tuple or list of strings.
 *
 * Hand-written because only that literal subset is needed: a full Python parser (there is
 * none on npm that is small and maintained) would be a large dependency for four names.
 */
export interface AlembicScript {
  readonly revision: string | null;
  readonly downRevisions: readonly string[];
  readonly branchLabels: readonly string[];
  readonly dependsOn: readonly string[];
  readonly docstring: string | null;
}

export class PythonLiteralError extends Error {}

type Literal = string | null | readonly (string | null)[];

const names = ['revision', 'down_revision', 'branch_labels', 'depends_on'] as const;

export function readAlembicScript(text: string): AlembicScript {
  const values = new Map<string, Literal>();
  const assignment = /^([a-z_]+)[ \t]*(?::[^=\n]*)?=[ \t]*/gm;
  for (let match = assignment.exec(text); match; match = assignment.exec(text)) {
    const name = match[1] as (typeof names)[number];
    if (!names.includes(name) || values.has(name)) continue;
    const parser = new LiteralReader(text, match.index + match[0].length);
    values.set(name, parser.value());
  }
  const list = (name: string): string[] => {
    const value = values.get(name);
    if (value === undefined || value === null) return [];
    const items = typeof value === 'string' ? [value] : value;
    return items.filter((v): v is string => v !== null);
  };
  const revision = values.get('revision');
  return {
    revision: typeof revision === 'string' ? revision : null,
    downRevisions: list('down_revision'),
    branchLabels: list('branch_labels'),
    dependsOn: list('depends_on'),
    docstring: moduleDocstring(text),
  };
}

/** The module's docstring: a string literal as its first statement. */
function moduleDocstring(text: string): string | null {
  const reader = new LiteralReader(text, 0);
  reader.skipBlankAndComments();
  if (!reader.atString()) return null;
  const value = reader.value();
  return typeof value === 'string' ? value : null;
}

/** Alembic's template docstring: the message, then `Revision ID:`, `Revises:`, `Create Date:` lines. */
export function docstringFields(docstring: string | null): { message: string; createDate: string | null } {
  if (!docstring) return { message: '', createDate: null };
  const lines = docstring.split('\n');
  const end = lines.findIndex((l) => /^\s*Revision ID:/.test(l));
  const message = (end === -1 ? lines : lines.slice(0, end))
    .map((l) => l.trim())
    .filter((l) => l !== '')
    .join(' ');
  const date = lines.map((l) => /^\s*Create Date:\s*(.+?)\s*$/.exec(l)?.[1]).find((d) => d !== undefined);
  return { message, createDate: date ?? null };
}

class LiteralReader {
  constructor(
    private readonly text: string,
    private at: number,
  ) {}

  skipBlankAndComments(): void {
    for (;;) {
      const rest = /^(?:\s+|#[^\n]*)/.exec(this.text.slice(this.at, this.at + 4096));
      if (!rest || rest[0] === '') return;
      this.at += rest[0].length;
    }
  }

  atString(): boolean {
    return /^[rRuU]?['"]/.test(this.text.slice(this.at, this.at + 2));
  }

  value(): Literal {
    this.skipBlankAndComments();
    if (this.text.startsWith('None', this.at)) {
      this.at += 4;
      return null;
    }
    if (this.atString()) return this.string();
    const open = this.text[this.at];
    if (open === '(' || open === '[') {
      const close = open === '(' ? ')' : ']';
      this.at++;
      const items: (string | null)[] = [];
      for (;;) {
        this.skipBlankAndComments();
        if (this.text[this.at] === close) {
          this.at++;
          return items;
        }
        const item = this.value();
        if (typeof item === 'object' && item !== null) throw this.error('a nested list');
        items.push(item);
        this.skipBlankAndComments();
        if (this.text[this.at] === ',') this.at++;
        else if (this.text[this.at] !== close) throw this.error(`"," or "${close}"`);
      }
    }
    throw this.error('None, a string, or a tuple or list of strings');
  }

  private string(): string {
    let raw = false;
    if (/[rRuU]/.test(this.text[this.at]!)) raw = /[rR]/.test(this.text[this.at++]!);
    const quote = this.text.startsWith(this.text[this.at]!.repeat(3), this.at)
      ? this.text[this.at]!.repeat(3)
      : this.text[this.at]!;
    this.at += quote.length;
    let out = '';
    for (;;) {
      if (this.at >= this.text.length) throw this.error(`the closing ${quote}`);
      if (this.text.startsWith(quote, this.at)) {
        this.at += quote.length;
        return out;
      }
      const ch = this.text[this.at++]!;
      if (ch === '\n' && quote.length === 1) throw this.error(`the closing ${quote}`);
      if (ch === '\\' && !raw) {
        const next = this.text[this.at++]!;
        out += next === 'n' ? '\n' : next === 't' ? '\t' : next === '\n' ? '' : next;
      } else out += ch;
    }
  }

  private error(expected: string): PythonLiteralError {
    const line = this.text.slice(0, this.at).split('\n').length;
    return new PythonLiteralError(`line ${line}: expected ${expected}`);
  }
}
