/** When a revision runs in a deployment: before the new application version rolls out, or after. */
export type Phase = 'pre-deploy' | 'post-deploy';
export const phases: readonly Phase[] = ['pre-deploy', 'post-deploy'];
