import { type Plan, planForPhase } from '../../migrator/index.js';

/** What the rollout gate reads of a Deployment or StatefulSet. */
export interface WorkloadState {
  readonly generation: number;
  readonly observedGeneration: number;
  /** spec.replicas */
  readonly desired: number;
  /** status.replicas: pods of any revision; above desired while old pods linger. */
  readonly current: number;
  readonly updated: number;
  readonly available: number;
  /** The pod template's container images. */
  readonly images: readonly string[];
}

export interface RolloutGate {
  readonly kind: 'Deployment' | 'StatefulSet';
  readonly name: string;
  /** When set, the rollout counts only once the pod template runs this image. */
  readonly image?: string | undefined;
}

/**
 * Whether a workload has finished rolling out (kubectl rollout status's rule): the
 * controller has seen the latest spec, every replica is updated and available, and no old
 * replica remains; with `image`, the template runs that image. Pure: the caller reads.
 * Returns null when complete, else what it is waiting for.
 */
export function rolloutPending(gate: RolloutGate, state: WorkloadState | null): string | null {
  const what = `${gate.kind} ${gate.name}`;
  if (!state) return `${what} does not exist yet`;
  if (gate.image && !state.images.includes(gate.image)) return `${what} does not run ${gate.image} yet`;
  if (state.observedGeneration < state.generation) return `${what}'s controller has not seen its latest spec`;
  if (state.updated < state.desired)
    return `${what} has ${state.updated} of ${state.desired} replicas updated`;
  if (state.available < state.desired)
    return `${what} has ${state.available} of ${state.desired} replicas available`;
  if (state.current > state.desired)
    return `${what} still runs ${state.current - state.desired} old replica(s)`;
  return null;
}

/** How often a resource waiting for a rollout looks again (workloads are read, not watched). */
export const rolloutPollMs = 5_000;

export interface GatedPlan {
  /** What runs now. */
  readonly plan: Plan;
  /** Why post-deploy revisions wait, or null when nothing waits. */
  readonly waiting: string | null;
}

/**
 * spec.postDeploy.after: until the named workload has rolled out, an upgrade runs only
 * its pre-deploy part; the post-deploy revisions wait, named in the message.
 */
export async function gateOnRollout(
  gate: RolloutGate | undefined,
  planned: Plan,
  read: (kind: RolloutGate['kind'], name: string) => Promise<WorkloadState | null>,
): Promise<GatedPlan> {
  if (!gate || planned.direction !== 'upgrade') return { plan: planned, waiting: null };
  const phased = planForPhase(planned, 'pre-deploy');
  if (phased.held.length === 0) return { plan: planned, waiting: null };
  const pending = rolloutPending(gate, await read(gate.kind, gate.name));
  if (pending === null) return { plan: planned, waiting: null };
  const held = phased.held.map((s) => s.revision);
  return {
    plan: phased.plan,
    waiting: `post-deploy revision(s) ${held.join(', ')} wait for the rollout: ${pending}`,
  };
}
