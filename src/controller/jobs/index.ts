// The Job runner's public face: a DatabaseMigration's run as a Job from the application's
// image, and what the cluster adapter needs to read and label those Jobs.
export type { JobPort, JobState, PodTermination } from './decide-job.js';
export { reconcileWithJob } from './job-runner.js';
export { jobLabels, jobNameLabel } from './job-spec.js';
