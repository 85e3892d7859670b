import { readFile, writeFile } from 'node:fs/promises';
import { isDestructive, planHash, RevisorError, renderStep } from '../../migrator/index.js';
import { str } from '../args.js';
import type { Context } from '../context.js';
import { createMigrator } from '../migrator-context.js';
import { headsText, print, printJson } from '../output.js';
import { report } from './report.js';

/** A plan file: what `revisor apply` runs, if the database and the chain are still where it was made. */
interface PlanFile {
  readonly format: 1;
  readonly direction: 'upgrade' | 'downgrade';
  readonly target: string;
  readonly from: readonly string[];
  readonly to: readonly string[];
  readonly hash: string;
  readonly steps: readonly { revision: string; direction: string; destructive: boolean; sql: string }[];
}

/** revisor plan [target] [--downgrade] --out plan.json: the plan, for review, as a file. */
export async function planCommand(ctx: Context): Promise<number> {
  const [target = ctx.values['downgrade'] ? undefined : 'head', extra] = ctx.positionals;
  if (!target || extra) throw new RevisorError('Usage', 'plan takes one target (a downgrade needs it named)');
  const out = str(ctx.values, 'out');
  if (!out) throw new RevisorError('Usage', 'plan needs --out <file>');
  const direction = ctx.values['downgrade'] ? 'downgrade' : 'upgrade';
  const migrator = await createMigrator(ctx);
  try {
    const planned = await migrator.plan(direction, target);
    const file: PlanFile = {
      format: 1,
      direction,
      target,
      from: planned.fromHeads,
      to: planned.toHeads,
      hash: planHash(planned),
      steps: planned.steps.map((s) => ({
        revision: s.revision,
        direction: s.direction,
        destructive: isDestructive(s),
        sql: renderStep(s),
      })),
    };
    await writeFile(out, `${JSON.stringify(file, null, 2)}\n`);
    if (ctx.json) printJson(file);
    else {
      print(
        `${file.steps.length} step(s) ${direction} ${headsText(file.from)} -> ${headsText(file.to)}, written to ${out}`,
      );
      for (const s of file.steps)
        print(`  ${s.direction} ${s.revision}${s.destructive ? '  (may destroy data)' : ''}`);
    }
    return 0;
  } finally {
    await migrator.close();
  }
}

/**
 * revisor apply plan.json: runs exactly the reviewed plan. The plan is made again from the
 * database's state and the chain; a different hash (the database moved, a revision was
 * added or edited) is PlanOutdated, and nothing runs.
 */
export async function applyCommand(ctx: Context): Promise<number> {
  const [path, extra] = ctx.positionals;
  if (!path || extra)
    throw new RevisorError('Usage', 'apply takes one plan file (made by revisor plan --out)');
  let file: PlanFile;
  try {
    file = JSON.parse(await readFile(path, 'utf8')) as PlanFile;
  } catch (err) {
    throw new RevisorError('Usage', `cannot read plan file ${path}: ${(err as Error).message}`);
  }
  if (file.format !== 1 || typeof file.hash !== 'string')
    throw new RevisorError('Usage', `${path} is not a revisor plan file`);
  const migrator = await createMigrator(ctx);
  try {
    const now = await migrator.plan(file.direction, file.target);
    if (planHash(now) !== file.hash) {
      const moved = now.fromHeads.join(',') !== file.from.join(',');
      throw new RevisorError(
        'PlanOutdated',
        moved
          ? `the database moved since ${path} was made (it was at ${headsText(file.from)}, it is at ${headsText(now.fromHeads)}); nothing was run: plan again`
          : `the migrations changed since ${path} was made (a revision added or edited); nothing was run: plan again`,
        { planned: file.from, current: now.fromHeads },
      );
    }
    return await report(
      ctx,
      await migrator.apply(now),
      file.direction === 'upgrade' ? 'applied' : 'reverted',
    );
  } finally {
    await migrator.close();
  }
}
