import type { Phase } from '../chain/phase.js';
import type { Plan, Step } from './planner.js';

export interface PhasedPlan {
  /** What runs in this phase. */
  readonly plan: Plan;
  /** The upgrade steps left for the post-deploy phase, in order. */
  readonly held: readonly Step[];
}

/**
 * The part of a plan a deploy phase runs. Pre-deploy: the upgrade steps before the first
 * post-deploy revision (everything after it waits, so revisions still run in the plan's
 * order and the version table only ever holds states the chain passes through).
 * Post-deploy, and any downgrade: the whole plan.
 */
export function planForPhase(planned: Plan, phase: Phase): PhasedPlan {
  if (phase === 'post-deploy' || planned.direction !== 'upgrade') return { plan: planned, held: [] };
  const cut = planned.steps.findIndex((s) => s.migration.phase === 'post-deploy');
  if (cut === -1) return { plan: planned, held: [] };
  const steps = planned.steps.slice(0, cut);
  return {
    plan: Object.freeze({
      ...planned,
      steps: Object.freeze(steps),
      toHeads: steps.at(-1)?.headsAfter ?? planned.fromHeads,
    }),
    held: planned.steps.slice(cut),
  };
}
