import type { RunResult } from '../migrator/index.js';
/**
 * A run's metrics, pushed to a Prometheus Pushgateway: hook Jobs and init containers end
 * before any scrape could see them. prom-client is loaded only when a URL is given.
 */
export async function pushRunMetrics(
  url: string,
  run: { command: string; instance: string; result: RunResult; heads: readonly string[] },
): Promise<void> {
  const { Counter, Gauge, Histogram, Pushgateway, Registry } = await import('prom-client');
  const { lockWaitBuckets, stepDurationBuckets } = await import('../controller/metrics.js');
  const registry = new Registry();
  const applied = new Counter({
    name: 'revisor_migrations_applied_total',
    help: 'Migration steps run, by direction and result.',
    labelNames: ['direction', 'result'] as const,
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'revisor_migration_duration_seconds',
    help: 'Duration of one migration step.',
    labelNames: ['direction'] as const,
    buckets: stepDurationBuckets,
    registers: [registry],
  });
  const lockWait = new Histogram({
    name: 'revisor_lock_wait_seconds',
    help: 'Time spent waiting for the migration advisory lock.',
    buckets: lockWaitBuckets,
    registers: [registry],
  });
  const revision = new Gauge({
    name: 'revisor_current_revision_info',
    help: "The database's revision (heads, comma-joined) after the run; the value is 1.",
    labelNames: ['revision'] as const,
    registers: [registry],
  });
  const lastRun = new Gauge({
    name: 'revisor_last_run_timestamp_seconds',
    help: 'When the run ended, by result.',
    labelNames: ['result'] as const,
    registers: [registry],
  });
  for (const step of run.result.results) {
    if (step.status === 'not-run' || step.direction === 'stamp') continue;
    applied.inc({ direction: step.direction, result: step.status === 'applied' ? 'success' : 'failure' });
    duration.observe({ direction: step.direction }, step.durationMs / 1000);
  }
  lockWait.observe(run.result.lockWaitMs / 1000);
  revision.set({ revision: run.heads.join(',') }, 1);
  lastRun.set({ result: run.result.error ? run.result.error.code : 'success' }, Date.now() / 1000);
  await new Pushgateway(url, { timeout: 5000 }, registry).pushAdd({
    jobName: 'revisor',
    groupings: { command: run.command, instance: run.instance },
  });
}
