import type { Finding } from './lint.js';
import type { Cost } from './rule.js';

/** What the database's catalog and statistics say about a table a statement touches. */
export interface TableFacts {
  /** Whether the table exists there. */
  readonly found: boolean;
  /** pg_class.reltuples: the planner's row estimate; negative when never analyzed. */
  readonly rows: number;
  /** pg_total_relation_size: heap, indexes and TOAST. */
  readonly bytes: number;
  readonly indexes: number;
}

/** Below these a rewrite, scan or index build is over before anyone waits on it. */
export interface Thresholds {
  readonly smallTableRows: number;
}

export const defaultThresholds: Thresholds = { smallTableRows: 10_000 };

/** A never-analyzed table counts as small only below this size (1,024 pages). */
const smallUnanalyzedBytes = 8 * 1024 * 1024;

const workText: Record<Cost['work'], string> = {
  rewrite: 'rewrites',
  scan: 'reads every row of',
  build: 'builds an index over',
};

export function approximate(n: number): string {
  const units: [number, string][] = [
    [1e9, ' G'],
    [1e6, ' M'],
    [1e3, ' k'],
  ];
  for (const [size, unit] of units)
    if (n >= size) return `${(n / size).toFixed(n >= size * 10 ? 0 : 1)}${unit}`;
  return String(Math.round(n));
}

export function bytesText(n: number): string {
  const units: [number, string][] = [
    [1024 ** 4, ' TB'],
    [1024 ** 3, ' GB'],
    [1024 ** 2, ' MB'],
    [1024, ' kB'],
  ];
  for (const [size, unit] of units)
    if (n >= size) return `${(n / size).toFixed(n >= size * 10 ? 0 : 1)}${unit}`;
  return `${n} bytes`;
}

/** What a finding with a cost means on this table: its price there, or why it is harmless. */
export function judge(cost: Cost, facts: TableFacts | undefined, thresholds: Thresholds): Finding['there'] {
  if (!facts?.found)
    return { harmless: false, text: `${cost.table} is not in the database; its size is unknown` };
  const rows = facts.rows >= 0 ? `≈ ${approximate(facts.rows)} rows` : 'never analyzed';
  const size = `${rows}, ${bytesText(facts.bytes)}`;
  const small =
    facts.rows >= 0 ? facts.rows <= thresholds.smallTableRows : facts.bytes <= smallUnanalyzedBytes;
  if (small) return { harmless: true, text: `harmless there: ${cost.table} is small (${size})` };
  const indexes =
    cost.work === 'rewrite' && facts.indexes > 0 ? ` and rebuilds its ${facts.indexes} index(es)` : '';
  return {
    harmless: false,
    text: `${workText[cost.work]} ${cost.table} (${size})${indexes} under ${cost.lock}`,
  };
}

/** Findings with what they cost on the database's tables; `facts` is keyed by the table as written. */
export function judgeFindings(
  findings: readonly Finding[],
  facts: ReadonlyMap<string, TableFacts>,
  thresholds: Thresholds,
): Finding[] {
  return findings.map((f) =>
    f.cost ? { ...f, there: judge(f.cost, facts.get(f.cost.table), thresholds) } : f,
  );
}
