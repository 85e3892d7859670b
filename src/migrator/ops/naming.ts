import { createHash } from 'node:crypto';

/**
 * SQLAlchemy's common naming convention, applied when an op is given no name:
 *   ix_<table>_<col>…  uq_<table>_<col>…  ck_<table>_<col>  fk_<table>_<col>_<referred>  pk_<table>
 * so that downgrades can drop by name and names match an Alembic project's.
 */
const maxIdentifierBytes = 63;

export function conventionalName(kind: 'ix' | 'uq' | 'ck' | 'fk' | 'pk', parts: readonly string[]): string {
  return fitIdentifier([kind, ...parts].join('_'));
}

/** PostgreSQL truncates long names silently; a hashed suffix keeps them distinct instead. */
export function fitIdentifier(name: string): string {
  if (Buffer.byteLength(name) <= maxIdentifierBytes) return name;
  const suffix = createHash('md5').update(name).digest('hex').slice(0, 8);
  let head = name;
  while (Buffer.byteLength(head) > maxIdentifierBytes - suffix.length - 1) head = head.slice(0, -1);
  return `${head}_${suffix}`;
}

/** The first column a check expression names: `role IN ('a')` → `role`. */
export function checkSubject(expression: string): string {
  const words = expression.match(/"[^"]+"|[A-Za-z_][A-Za-z0-9_$]*/g) ?? [];
  const keywords = new Set(['not', 'coalesce', 'lower', 'upper', 'length', 'char_length', 'array_length']);
  const word = words.find((w) => !keywords.has(w.toLowerCase()));
  return (word ?? 'check').replaceAll('"', '').toLowerCase();
}
