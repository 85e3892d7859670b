import { type ChildProcess, spawn } from 'node:child_process';
import * as k8s from '@kubernetes/client-node';

/**
 * The test cluster is a real API server without a Job controller or a kubelet, so nothing
 * would ever run a migration Job. This stand-in does their part for the Jobs revisor
 * creates, and nothing more: it makes the Job's pod, runs the pod's container command as
 * a local process (an image is a local migrations directory with revisor's own bin), with
 * the container's environment resolved from its Secrets as a kubelet would, and writes
 * back what the real ones would: the pod's phase and container termination (exit code,
 * and with FallbackToLogsOnError the log's tail as its message), and the Job's conditions.
 * A Job deleted while its process runs has the process killed, as a pod deleted with it.
 */
export interface FakeKubeletOptions {
  readonly kubeConfig: k8s.KubeConfig;
  readonly namespace: string;
  /** The revisor entry point the images hold (bin/revisor.js). */
  readonly revisorBin: string;
  /** Image name to the migrations directory baked into it. */
  readonly images: Readonly<Record<string, string>>;
  /** Jobs run at once (a node's capacity). */
  readonly parallel?: number;
}

interface Running {
  readonly child: ChildProcess;
  readonly pod: string;
}

const managedBy = 'app.kubernetes.io/managed-by=revisor';
// FallbackToLogsOnError: the last 80 lines or 2048 bytes of the log, whichever is smaller.
const terminationTail = (log: string) => log.split('\n').slice(-81).join('\n').slice(-2048);

export class FakeKubelet {
  readonly #options: FakeKubeletOptions;
  readonly #batch: k8s.BatchV1Api;
  readonly #core: k8s.CoreV1Api;
  readonly #seen = new Set<string>();
  readonly #running = new Map<string, Running>();
  readonly #queue: k8s.V1Job[] = [];
  #timer: NodeJS.Timeout | null = null;
  #stopped = false;
  /** Jobs this kubelet has started, in order. */
  readonly started: string[] = [];
  /** Each Job's process, from start to end (ms since the epoch; no end while it runs). */
  readonly runs: { job: string; startedAt: number; endedAt?: number }[] = [];

  constructor(options: FakeKubeletOptions) {
    this.#options = options;
    this.#batch = options.kubeConfig.makeApiClient(k8s.BatchV1Api);
    this.#core = options.kubeConfig.makeApiClient(k8s.CoreV1Api);
  }

  start(): this {
    let lastError = '';
    const tick = async () => {
      if (this.#stopped) return;
      await this.#sync().then(
        () => {
          lastError = '';
        },
        (err: unknown) => {
          // Once per streak: an API server outage would otherwise print a line per tick.
          if (String(err) !== lastError) process.stderr.write(`fake kubelet: ${err}\n`);
          lastError = String(err);
        },
      );
      if (!this.#stopped) this.#timer = setTimeout(tick, 200);
    };
    void tick();
    return this;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    for (const { child } of this.#running.values()) child.kill('SIGKILL');
  }

  async #sync(): Promise<void> {
    const { namespace } = this.#options;
    const jobs = await this.#batch.listNamespacedJob({ namespace, labelSelector: managedBy });
    const present = new Set(jobs.items.map((j) => j.metadata!.name!));
    for (const [name, running] of this.#running) {
      if (present.has(name)) continue;
      // The Job is gone: its pod goes with it, and the process with the pod.
      running.child.kill('SIGKILL');
      this.#running.delete(name);
      await this.#core.deleteNamespacedPod({ name: running.pod, namespace }).catch(() => undefined);
    }
    for (const job of jobs.items) {
      const name = job.metadata!.name!;
      if (this.#seen.has(name)) continue;
      this.#seen.add(name);
      this.#queue.push(job);
    }
    while (this.#queue.length > 0 && this.#running.size < (this.#options.parallel ?? 4)) {
      await this.#run(this.#queue.shift()!);
    }
  }

  async #env(container: k8s.V1Container): Promise<Record<string, string>> {
    const env: Record<string, string> = {};
    for (const variable of container.env ?? []) {
      const ref = variable.valueFrom?.secretKeyRef;
      if (!ref) {
        env[variable.name] = variable.value ?? '';
        continue;
      }
      const secret = await this.#core.readNamespacedSecret({
        name: ref.name!,
        namespace: this.#options.namespace,
      });
      const value = secret.data?.[ref.key];
      if (value !== undefined) env[variable.name] = Buffer.from(value, 'base64').toString('utf8');
    }
    return env;
  }

  async #run(job: k8s.V1Job): Promise<void> {
    const { namespace } = this.#options;
    const name = job.metadata!.name!;
    const template = job.spec!.template;
    const container = template.spec!.containers[0]!;
    const startTime = new Date();
    const pod = await this.#core.createNamespacedPod({
      namespace,
      body: {
        metadata: {
          generateName: `${name}-`,
          labels: { ...template.metadata?.labels, 'batch.kubernetes.io/job-name': name, 'job-name': name },
          ownerReferences: [
            { apiVersion: 'batch/v1', kind: 'Job', name, uid: job.metadata!.uid!, controller: true },
          ],
        },
        spec: template.spec!,
      },
    });
    const podName = pod.metadata!.name!;
    await this.#jobStatus(name, { startTime, active: 1, ready: 0 });
    this.started.push(name);

    const migrations = this.#options.images[container.image ?? ''];
    const env = await this.#env(container);
    const child = spawn(process.execPath, [this.#options.revisorBin, ...(container.args ?? [])], {
      env: {
        PATH: process.env['PATH'] ?? '',
        HOME: '/tmp',
        ...(migrations ? { REVISOR_MIGRATIONS: migrations } : {}),
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.#running.set(name, { child, pod: podName });
    const record: (typeof this.runs)[number] = { job: name, startedAt: Date.now() };
    this.runs.push(record);
    child.on('exit', () => {
      record.endedAt = Date.now();
    });
    let log = migrations ? '' : `image ${container.image} is not known to the fake kubelet\n`;
    child.stdout!.on('data', (d) => (log += d));
    child.stderr!.on('data', (d) => (log += d));
    const deadline = job.spec!.activeDeadlineSeconds;
    let pastDeadline = false;
    const timer = deadline
      ? setTimeout(() => {
          pastDeadline = true;
          child.kill('SIGKILL');
        }, deadline * 1000)
      : null;
    child.on('exit', (code, signal) => {
      if (timer) clearTimeout(timer);
      if (this.#running.get(name)?.child !== child || this.#stopped) return;
      this.#running.delete(name);
      const exitCode = code ?? (signal ? 137 : 1);
      void this.#finishRetrying(name, podName, startTime, exitCode, log, pastDeadline);
    });
  }

  /** As a kubelet does: a status update the API server did not take is tried again until it is. */
  async #finishRetrying(...args: Parameters<FakeKubelet['finish']>): Promise<void> {
    let failed = false;
    while (!this.#stopped) {
      try {
        await this.finish(...args);
        return;
      } catch (err) {
        if (!failed) process.stderr.write(`fake kubelet: finishing ${args[0]}: ${err}; retrying\n`);
        failed = true;
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  }

  private async finish(
    job: string,
    pod: string,
    startTime: Date,
    exitCode: number,
    log: string,
    pastDeadline: boolean,
  ): Promise<void> {
    const { namespace } = this.#options;
    const now = new Date();
    const ok = exitCode === 0 && !pastDeadline;
    await this.#core.replaceNamespacedPodStatus({
      name: pod,
      namespace,
      body: {
        ...(await this.#core.readNamespacedPod({ name: pod, namespace })),
        status: {
          phase: ok ? 'Succeeded' : 'Failed',
          startTime,
          containerStatuses: [
            {
              name: 'migrate',
              image: '',
              imageID: '',
              ready: false,
              restartCount: 0,
              state: {
                terminated: {
                  exitCode,
                  reason: ok ? 'Completed' : 'Error',
                  ...(ok ? {} : { message: terminationTail(log) }),
                  startedAt: startTime,
                  finishedAt: now,
                },
              },
            },
          ],
        },
      },
    });
    const reason = pastDeadline ? 'DeadlineExceeded' : 'BackoffLimitExceeded';
    const condition = (type: string, why: string) => ({
      type,
      status: 'True',
      reason: why,
      message: why,
      lastProbeTime: now,
      lastTransitionTime: now,
    });
    await this.#jobStatus(
      job,
      ok
        ? {
            startTime,
            completionTime: now,
            succeeded: 1,
            active: 0,
            ready: 0,
            conditions: [
              condition('SuccessCriteriaMet', 'CompletionsReached'),
              condition('Complete', 'CompletionsReached'),
            ],
          }
        : {
            startTime,
            failed: 1,
            active: 0,
            ready: 0,
            conditions: [condition('FailureTarget', reason), condition('Failed', reason)],
          },
    );
  }

  async #jobStatus(name: string, status: k8s.V1JobStatus): Promise<void> {
    const { namespace } = this.#options;
    for (let attempt = 0; ; attempt++) {
      try {
        const job = await this.#batch.readNamespacedJob({ name, namespace });
        // The API server keeps startTime at second precision and refuses any change to it.
        const startTime = job.status?.startTime ?? status.startTime;
        await this.#batch.replaceNamespacedJobStatus({
          name,
          namespace,
          body: { ...job, status: { ...status, startTime } },
        });
        return;
      } catch (err) {
        const code = (err as { code?: number }).code;
        if (code === 404) return;
        if (code !== 409 || attempt > 5) throw err;
      }
    }
  }
}
