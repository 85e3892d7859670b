import type { ConnectionOptions } from '../../migrator/index.js';
import { reconcileWithJob } from '../jobs/index.js';
import { Reason } from '../reasons.js';
import type { DatabaseMigration } from '../resource.js';
import { specSchema } from '../resource.js';
import { owningSet } from '../set-resource.js';
import { reconcileInProcess } from './in-process.js';
import { Pass, type ReconcileResult } from './pass.js';
import type { ReconcileDeps } from './ports.js';
import { connectionFor } from './sources.js';

/**
 * One pass over one DatabaseMigration: check the spec, resolve the connection from
 * Secrets, then either hand the run to a Job from the application's image (jobs/) or run
 * it here (in-process.ts). Status is written only when it changes.
 */
export async function reconcile(resource: DatabaseMigration, deps: ReconcileDeps): Promise<ReconcileResult> {
  const pass = new Pass(resource, deps.cluster, deps.now);
  const parsed = specSchema.safeParse(resource.spec);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    await pass.fail(Reason.InvalidSpec, `invalid spec: ${issues}`);
    return { requeueAfterMs: null, outcome: 'failed' };
  }
  const spec = parsed.data;
  if (spec.suspend) {
    await pass.write(
      { kind: 'suspended', message: 'spec.suspend is true: nothing is checked or applied' },
      {},
    );
    return { requeueAfterMs: null, outcome: 'suspended' };
  }
  const { namespace, name } = pass.labels;
  let connection: ConnectionOptions;
  try {
    const resolved = await connectionFor(
      spec,
      namespace,
      { name, set: owningSet(resource.metadata) },
      deps.cluster,
      {
        applicationName: `revisor controller ${namespace}/${name}`.slice(0, 63),
        connectTimeoutMs: deps.connectTimeoutMs,
      },
    );
    connection = resolved.connection;
    pass.secrets = resolved.secrets;
  } catch (err) {
    return pass.failure(spec.retry, err);
  }
  if (!spec.migrations.image) return reconcileInProcess(pass, deps, spec, connection);
  try {
    return await reconcileWithJob({
      resource,
      spec,
      previous: pass.previous,
      connection,
      secrets: pass.secrets,
      jobs: deps.cluster,
      observe: (since) => deps.observeDatabase(connection, spec, since),
      traceEnv: deps.traceEnv(),
      metrics: deps.metrics,
      resyncMs: deps.resyncMs,
      now: deps.now,
      write: pass.write,
      fail: (reason, message, changes) => pass.fail(reason, message, changes),
      retryLater: (reason, message, changes) => pass.retryLater(spec.retry, reason, message, changes),
      event: pass.announce,
    });
  } catch (err) {
    return pass.failure(spec.retry, err);
  }
}
