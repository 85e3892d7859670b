import { describe, expect, it } from 'vitest';
import { decideJob } from '../../../src/controller/jobs/decide-job.js';
import { redactLogTail } from '../../../src/controller/jobs/job-runner.js';
import { databaseKey, jobName, migrationJob } from '../../../src/controller/jobs/job-spec.js';
import { type LastRun, specSchema } from '../../../src/controller/resource.js';

const spec = (extra: Record<string, unknown> = {}) =>
  specSchema.parse({
    database: { urlSecretRef: { name: 'db' } },
    migrations: { image: 'registry.example/app:v1' },
    ...extra,
  });

const run = (changes: Partial<LastRun> = {}): LastRun => ({
  job: 'app-migrate-1',
  image: 'registry.example/app:v1',
  target: 'head',
  generation: 3,
  attempt: 1,
  phase: 'Succeeded',
  startedAt: '2026-12-04T10:00:00Z',
  heads: 'bbb',
  ...changes,
});

const decide = (input: Partial<Parameters<typeof decideJob>[0]>) =>
  decideJob({
    run: undefined,
    job: null,
    generation: 3,
    image: 'registry.example/app:v1',
    target: 'head',
    heads: 'bbb',
    othersOnDatabase: [],
    ...input,
  });

describe('decideJob', () => {
  it('creates the first Job, and waits for another Job on the same database', () => {
    expect(decide({})).toEqual({ kind: 'create', attempt: 1 });
    expect(decide({ othersOnDatabase: ['other-migrate-x'] })).toEqual({
      kind: 'wait',
      job: 'other-migrate-x',
    });
  });

  it('follows a running Job to its end, and calls a vanished one lost', () => {
    const running = run({ phase: 'Running' });
    expect(decide({ run: running, job: { phase: 'Active' } })).toEqual({ kind: 'running' });
    expect(decide({ run: running, job: { phase: 'Succeeded' } })).toEqual({ kind: 'succeeded' });
    expect(decide({ run: running, job: { phase: 'Failed', failureReason: 'BackoffLimitExceeded' } })).toEqual(
      {
        kind: 'failed',
      },
    );
    expect(decide({ run: running, job: { phase: 'Failed', failureReason: 'DeadlineExceeded' } })).toEqual({
      kind: 'deadline',
    });
    expect(decide({ run: running, job: null })).toEqual({ kind: 'lost' });
  });

  it('does nothing after a success while the database stays put, and reports it moved otherwise', () => {
    expect(decide({ run: run() })).toEqual({ kind: 'ready' });
    expect(decide({ run: run(), heads: 'ccc' })).toEqual({ kind: 'moved' });
  });

  it('runs again after a failure (next attempt) or for a new generation, image or target (attempt 1)', () => {
    expect(decide({ run: run({ phase: 'Failed', attempt: 2 }) })).toEqual({ kind: 'create', attempt: 3 });
    expect(decide({ run: run({ phase: 'Lost' }) })).toEqual({ kind: 'create', attempt: 2 });
    expect(decide({ run: run(), generation: 4 })).toEqual({ kind: 'create', attempt: 1 });
    expect(decide({ run: run(), image: 'registry.example/app:v2' })).toEqual({ kind: 'create', attempt: 1 });
    expect(decide({ run: run(), target: 'bbb' })).toEqual({ kind: 'create', attempt: 1 });
  });
});

describe('migrationJob', () => {
  const request = {
    resource: { name: 'app', namespace: 'team-a', uid: 'uid-1' },
    generation: 3,
    attempt: 1,
    database: 'abc',
    refuseInsecureAuth: true,
    traceEnv: { TRACEPARENT: '00-0123456789abcdef0123456789abcdef-0123456789abcdef-01' },
  };

  it('passes host credentials as Secret references and the CA as a mounted file', () => {
    const job = migrationJob({
      ...request,
      spec: spec({
        database: {
          host: 'db.example',
          name: 'app',
          credentialsSecretRef: { name: 'creds' },
          caSecretRef: { name: 'ca' },
        },
        migrations: { image: 'registry.example/app:v1', command: ['npx', 'revisor'] },
        lockWaitSeconds: 30,
      }),
    });
    const pod = job.spec!.template.spec!;
    const container = pod.containers[0]!;
    expect(container.command).toEqual(['npx', 'revisor']);
    expect(container.env).toEqual(
      expect.arrayContaining([
        { name: 'PGHOST', value: 'db.example' },
        { name: 'PGDATABASE', value: 'app' },
        { name: 'PGUSER', valueFrom: { secretKeyRef: { name: 'creds', key: 'username' } } },
        { name: 'PGPASSWORD', valueFrom: { secretKeyRef: { name: 'creds', key: 'password' } } },
        { name: 'PGSSLMODE', value: 'require' },
        { name: 'REVISOR_SSL_CA', value: '/etc/revisor/ca/ca.crt' },
        { name: 'REVISOR_LOCK_WAIT', value: '30s' },
        { name: 'TRACEPARENT', value: request.traceEnv.TRACEPARENT },
      ]),
    );
    expect(pod.volumes).toContainEqual({
      name: 'ca',
      secret: { secretName: 'ca', items: [{ key: 'ca.crt', path: 'ca.crt' }] },
    });
    expect(container.terminationMessagePolicy).toBe('FallbackToLogsOnError');
    expect(job.metadata!.name).toBe(jobName(request));
  });

  it("carries the Secret's refusal of cleartext and MD5 passwords into the Job, and only it", () => {
    const envOf = (refuseInsecureAuth: boolean) =>
      migrationJob({ ...request, refuseInsecureAuth, spec: spec() }).spec!.template.spec!.containers[0]!.env!;
    const flag = { name: 'REVISOR_REFUSE_INSECURE_AUTH', value: 'true' };
    expect(envOf(true)).toContainEqual(flag);
    expect(envOf(false).map((e) => e.name)).not.toContain(flag.name);
  });

  it('names Jobs stably per resource, generation and attempt, within 63 characters', () => {
    const long = { ...request, resource: { ...request.resource, name: 'a'.repeat(63) } };
    expect(jobName(long).length).toBeLessThanOrEqual(63);
    expect(jobName(request)).toBe(jobName({ ...request }));
    expect(jobName(request)).not.toBe(jobName({ ...request, attempt: 2 }));
  });
});

describe('databaseKey and redactLogTail', () => {
  it('keys a database by host, port and name, never by its credentials', () => {
    const a = databaseKey(spec(), 'postgres://alice:one@DB.example:5432/app');
    expect(databaseKey(spec(), 'postgres://bob:two@db.example/app')).toBe(a);
    expect(databaseKey(spec(), 'postgres://alice:one@db.example/other')).not.toBe(a);
    expect(a).toMatch(/^[0-9a-f]{16}$/);
  });

  it('removes Secret values and URL credentials from a log tail', () => {
    const secret = { data: { url: 'postgres://u:s3cret@db/app' }, annotations: {} };
    const tail = redactLogTail(
      'connecting to postgres://u:s3cret@db/app\nalso postgres://x:y@other/db\nrevisor: error [MigrationFailed]: boom',
      [secret],
    );
    expect(tail).not.toContain('s3cret');
    expect(tail).not.toContain('x:y@');
    expect(tail).toContain('postgres://***@other/db');
    expect(tail).toContain('[MigrationFailed]');
  });
});
