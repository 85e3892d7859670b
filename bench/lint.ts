import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadLine, measure, median } from './measure.js';

/**
 * npm run bench (last part): revisor lint over a generated chain of N revisions (default
 * 1,000), each with the statements lint inspects most (a table, a column, a constraint,
 * an index on an existing table), beside the floor of merely loading that chain
 * (`revisor heads`, which reads and parses every revision file) in the same run. Offline:
 * no database. It asserts nothing.
 */
const revisions = Number(process.env['BENCH_LINT_REVISIONS'] ?? 1000);
const runs = Number(process.env['BENCH_LINT_RUNS'] ?? 5);
const bin = fileURLToPath(new URL('../../bin/revisor.js', import.meta.url));

const work = await mkdtemp(join(tmpdir(), 'revisor-lint-bench-'));
try {
  for (let i = 1; i <= revisions; i++) {
    const id = `r${String(i).padStart(11, '0')}`;
    const down = i === 1 ? 'None' : `r${String(i - 1).padStart(11, '0')}`;
    const upgrade = [
      `CREATE TABLE t${i} (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, name text NOT NULL);`,
      i > 1 ? `ALTER TABLE t${i - 1} ADD COLUMN note_${i} text;` : 'SELECT 1;',
      i > 1
        ? `ALTER TABLE t${i - 1} ADD CONSTRAINT ck_${i} CHECK (length(name) < 200) NOT VALID;`
        : 'SELECT 1;',
      i > 1 ? `CREATE INDEX ix_${i} ON t${i - 1} (name);` : 'SELECT 1;',
    ].join('\n');
    await writeFile(
      join(work, `${String(i).padStart(5, '0')}_${id}.sql`),
      [
        `-- revision: ${id}`,
        `-- down_revision: ${down}`,
        `-- message: step ${i}`,
        '-- phase: post-deploy',
        '-- migrate:upgrade',
        upgrade,
        '-- migrate:downgrade',
        `DROP TABLE t${i};`,
        '',
      ].join('\n'),
    );
  }
  const env = { ...process.env, REVISOR_MIGRATIONS: work, REVISOR_LOG_LEVEL: 'warn' };
  const load: number[] = [];
  const lint: number[] = [];
  for (let r = 0; r < runs; r++) {
    load.push(measure(process.execPath, [bin, 'heads'], env).ms);
    // Every revision has a finding (the index on an existing table): --fail-on never keeps the exit 0.
    lint.push(measure(process.execPath, [bin, 'lint', '--fail-on', 'never', '--format', 'json'], env).ms);
  }
  const floor = median(load);
  const total = median(lint);
  process.stdout.write(
    [
      '',
      `revisor lint bench: ${revisions} revisions (4 statements each), median of ${runs} runs`,
      loadLine(),
      `${'load the chain (revisor heads, floor)'.padEnd(44)} ${floor.toFixed(0).padStart(7)} ms`,
      `${'revisor lint'.padEnd(44)} ${total.toFixed(0).padStart(7)} ms   ${(total / floor).toFixed(2)}x the floor; lint alone ${(total - floor).toFixed(0)} ms`,
      '',
    ].join('\n'),
  );
} finally {
  await rm(work, { recursive: true, force: true });
}
