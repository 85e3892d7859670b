import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { type ApiServerAccess, Controller, defaultAccess } from '../../controller/scheduling/index.js';
import { RevisorError } from '../../migrator/index.js';
import { startTracing } from '../../telemetry/tracing.js';
import { count, duration, str } from '../args.js';
import { type Context, migrationsDir } from '../context.js';

/** revisor controller: the operator, with its kubeconfig from KUBECONFIG or the pod's service account. */
export async function controller(ctx: Context): Promise<number> {
  const { values, env } = ctx;
  const apiTimeoutMs = duration(str(values, 'api-timeout'), 'api-timeout', 30_000);
  let apiServer: ApiServerAccess;
  try {
    apiServer = await defaultAccess(env);
  } catch (err) {
    throw new RevisorError(
      'Usage',
      `no Kubernetes configuration: ${(err as Error).message}; set KUBECONFIG or run in a pod`,
    );
  }
  const namespaces = (str(values, 'namespaces') ?? '')
    .split(',')
    .map((n) => n.trim())
    .filter(Boolean);
  const identity = env['POD_NAME'] ?? `${hostname()}-${randomBytes(3).toString('hex')}`;
  const resyncMs = duration(str(values, 'resync'), 'resync', 300_000);
  const tracing = await startTracing(ctx.env, 'revisor-controller');
  const instance = new Controller({
    apiServer,
    namespaces: namespaces.length ? namespaces : null,
    selector: str(values, 'selector') ?? null,
    maxConcurrent: Math.max(1, count(str(values, 'max-concurrent'), 'max-concurrent', 4)),
    resyncMs,
    watchSecrets: values['watch-secrets'] === true,
    migrationSets: values['migration-sets'] === true,
    sessionPool: {
      idleTimeoutMs: duration(str(values, 'db-idle-timeout'), 'db-idle-timeout', resyncMs + 60_000),
      maxIdle: count(str(values, 'db-max-idle'), 'db-max-idle', 1000),
      maxIdlePerDatabase: 1,
      // Resources on one database share its idle session; a run names its resource on its lock session.
      applicationName: 'revisor controller',
    },
    metricsAddr: str(values, 'metrics-addr') ?? ':8080',
    migrationsDir: migrationsDir(values),
    connectTimeoutMs: duration(str(values, 'connect-timeout'), 'connect-timeout', 10_000),
    apiTimeoutMs,
    shutdownGraceMs: duration(str(values, 'shutdown-grace'), 'shutdown-grace', 25_000),
    backupDir: str(values, 'backup-dir') ?? null,
    watchdogMs: duration(str(values, 'watchdog'), 'watchdog', 330_000),
    leaderElection: values['leader-elect']
      ? {
          namespace: str(values, 'leader-elect-namespace') ?? env['POD_NAMESPACE'] ?? 'default',
          name: str(values, 'leader-elect-name') ?? 'revisor-controller',
          identity,
          leaseDurationMs: duration(str(values, 'lease-duration'), 'lease-duration', 15_000),
          renewDeadlineMs: duration(str(values, 'renew-deadline'), 'renew-deadline', 10_000),
          retryPeriodMs: duration(str(values, 'retry-period'), 'retry-period', 2_000),
        }
      : null,
    logger: ctx.logger,
    tracing,
  });
  const ended = await instance.run(ctx.signal);
  await tracing?.shutdown().catch(() => undefined);
  ctx.logger.info({ ended }, 'controller stopped');
  return ended === 'lost' ? 1 : 0;
}
