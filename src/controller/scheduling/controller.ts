import { SessionPool } from '../../migrator/index.js';
import { ApiClient } from '../api/index.js';
import { KubeCluster } from '../kube.js';
import { ControllerMetrics } from '../metrics.js';
import { KubeSetCluster } from '../sets/index.js';
import { shownError } from '../shown-text.js';
import type { ControllerConfig } from './controller-config.js';
import { leaseStore } from './kube-watch.js';
import { LeaderElector } from './leader.js';
import { ReconcileWork } from './reconcile-work.js';
import { startServer } from './server.js';
import { Watches } from './watches.js';
import type { WorkKey } from './work-key.js';
import { WorkQueue } from './workqueue.js';

export type { ControllerConfig } from './controller-config.js';

/**
 * The operator: the watches (watches.ts) feed a work queue whose workers reconcile
 * (reconcile-work.ts), with metrics and probes, behind a leader lease when asked. `run`
 * resolves when the signal aborts (after the grace period) or the lease is lost.
 */
export class Controller {
  readonly #config: ControllerConfig;
  readonly metrics = new ControllerMetrics();
  readonly #stopWork = new AbortController();
  #watches: Watches | null = null;
  #queue: WorkQueue<WorkKey> | null = null;
  readonly #sessions: SessionPool;
  readonly #api: ApiClient;

  constructor(config: ControllerConfig) {
    this.#config = config;
    this.#sessions = new SessionPool(config.sessionPool);
    this.#api = new ApiClient(config.apiServer, config.apiTimeoutMs);
  }

  #startWork(): void {
    const { logger } = this.#config;
    const api = this.#api;
    const cluster = new KubeCluster(api);
    const clusters = { migrations: cluster, sets: new KubeSetCluster(api, cluster) };
    const queue: WorkQueue<WorkKey> = new WorkQueue<WorkKey>((key) => work.handle(key), {
      concurrency: this.#config.maxConcurrent,
      baseDelayMs: 1000,
      // An API server outage is retried on this backoff: it must not outgrow the outage much.
      maxDelayMs: 60_000,
      requeueJitter: 0.1,
    });
    const watches = new Watches(api, this.#config, queue, this.metrics);
    const work: ReconcileWork = new ReconcileWork(
      this.#config,
      watches,
      clusters,
      this.metrics,
      this.#sessions,
      this.#stopWork.signal,
    );
    this.#queue = queue;
    this.#watches = watches;
    for (const informer of watches.all) informer.start();
    logger.info({ namespaces: this.#config.namespaces ?? 'all' }, 'controller started');
  }

  async #stopAll(): Promise<void> {
    this.#stopWork.abort('shutting down');
    const grace = new Promise<void>((r) => setTimeout(r, this.#config.shutdownGraceMs).unref());
    await Promise.race([this.#queue?.shutDown() ?? Promise.resolve(), grace]);
    await Promise.all((this.#watches?.all ?? []).map((i) => i.stop()));
    await this.#sessions.close();
  }

  /** Runs until `signal` aborts; resolves 'lost' if the lease was lost (the caller should exit non-zero). */
  async run(signal: AbortSignal): Promise<'stopped' | 'lost'> {
    const { logger, leaderElection } = this.#config;
    let started = false;
    const server = await startServer(this.#config.metricsAddr, this.metrics.registry, {
      healthy: () => !this.#stopWork.signal.aborted,
      ready: () => !started || (this.#watches?.all ?? []).every((i) => i.synced),
    });
    try {
      if (!leaderElection) {
        this.metrics.leader.set(1);
        this.#startWork();
        started = true;
        await new Promise<void>((r) => signal.addEventListener('abort', () => r(), { once: true }));
        await this.#stopAll();
        return 'stopped';
      }
      const elector = new LeaderElector(
        leaseStore(this.#api, leaderElection.namespace, leaderElection.name),
        {
          ...leaderElection,
          onError: (err) => logger.warn({ err: shownError(err) }, 'lease update failed'),
        },
      );
      logger.info({ identity: leaderElection.identity }, 'waiting for the leader lease');
      const ended = await elector.run(signal, () => {
        logger.info({ identity: leaderElection.identity }, 'became the leader');
        this.metrics.leader.set(1);
        this.#startWork();
        started = true;
      });
      this.metrics.leader.set(0);
      if (started) await this.#stopAll();
      if (ended === 'stopped')
        await elector.release().catch((err) => logger.warn({ err: shownError(err) }, 'lease release failed'));
      else logger.error({}, 'lost the leader lease; stopping');
      return ended;
    } finally {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    }
  }
}
