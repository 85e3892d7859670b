import { describe, expect, it } from 'vitest';
import type { Condition, Status } from '../../../src/controller/resource.js';
import {
  type ChildView,
  childName,
  childSpec,
  decideWave,
  readTenant,
  selectorQuery,
  summarize,
  type TenantReading,
} from '../../../src/controller/sets/set-rollout.js';

const rollout = { canary: 2, maxParallel: 3, maxFailures: 1, pause: false };
const order = Array.from({ length: 10 }, (_, i) => `tenant-${i}`);

const condition = (type: Condition['type'], status: Condition['status'], reason = 'Applied'): Condition => ({
  type,
  status,
  reason,
  message: `${type} ${reason}`,
  lastTransitionTime: '2026-12-04T00:00:00Z',
  observedGeneration: 1,
});

function child(
  secret: string,
  target: string,
  state: 'ready' | 'failed' | 'stalled' | 'migrating' | 'unseen',
): ChildView {
  const conditions: Record<typeof state, Condition[]> = {
    ready: [condition('Ready', 'True')],
    failed: [
      condition('Ready', 'False', 'MigrationFailed'),
      condition('Degraded', 'True', 'MigrationFailed'),
    ],
    stalled: [condition('Ready', 'False', 'InvalidChain'), condition('Stalled', 'True', 'InvalidChain')],
    migrating: [condition('Ready', 'False', 'Migrating'), condition('Progressing', 'True', 'Migrating')],
    unseen: [],
  };
  const status: Status = {
    observedGeneration: state === 'unseen' ? 0 : 1,
    currentRevision: state === 'ready' ? target : 'old',
    conditions: conditions[state],
  };
  return { name: `set-${secret}`, secret, targetRevision: target, generation: 1, status };
}

const readingsOf = (views: ChildView[], target = 'v2') =>
  new Map<string, TenantReading>(
    order.map((s) => [
      s,
      readTenant(
        views.find((v) => v.secret === s),
        target,
      ),
    ]),
  );

describe('readTenant', () => {
  it('reads a child on an older target as Waiting, and one on the target by its conditions', () => {
    expect(readTenant(undefined, 'v2')).toMatchObject({ state: 'Waiting', started: false });
    expect(readTenant(child('a', 'v1', 'ready'), 'v2')).toMatchObject({ state: 'Waiting', started: false });
    expect(readTenant(child('a', 'v2', 'ready'), 'v2')).toMatchObject({ state: 'Ready', started: true });
    expect(readTenant(child('a', 'v2', 'failed'), 'v2')).toMatchObject({
      state: 'Failed',
      reason: 'MigrationFailed',
    });
    expect(readTenant(child('a', 'v2', 'stalled'), 'v2')).toMatchObject({
      state: 'Failed',
      reason: 'InvalidChain',
    });
    expect(readTenant(child('a', 'v2', 'migrating'), 'v2')).toMatchObject({ state: 'Progressing' });
  });

  it('reads a child retrying after a failure as Failed until it succeeds', () => {
    const retrying: ChildView = {
      ...child('a', 'v2', 'migrating'),
      status: { ...child('a', 'v2', 'migrating').status, attempts: 2 },
    };
    expect(readTenant(retrying, 'v2')).toMatchObject({ state: 'Failed', reason: 'Migrating' });
    expect(readTenant(retrying, 'v2').message).toContain('retrying after 2 failed attempt(s)');
  });

  it('does not read Ready from a status older than the spec (observedGeneration behind)', () => {
    const stale = { ...child('a', 'v2', 'ready'), generation: 2 };
    expect(readTenant(stale, 'v2')).toMatchObject({ state: 'Progressing', started: true });
  });

  it('reads a child waiting for approval as Waiting, though started', () => {
    const awaiting: ChildView = {
      ...child('a', 'v2', 'unseen'),
      status: { observedGeneration: 1, conditions: [condition('Ready', 'False', 'ApprovalRequired')] },
    };
    expect(readTenant(awaiting, 'v2')).toMatchObject({ state: 'Waiting', started: true });
  });
});

describe('decideWave', () => {
  it('starts the canary alone, up to maxParallel', () => {
    expect(decideWave(order, readingsOf([]), rollout)).toEqual({
      start: ['tenant-0', 'tenant-1'],
      holding: 'canary',
    });
    const one = readingsOf([child('tenant-0', 'v2', 'ready'), child('tenant-1', 'v2', 'migrating')]);
    expect(decideWave(order, one, rollout)).toEqual({ start: [], holding: 'canary' });
  });

  it('fills maxParallel once the canary is Ready, counting unfinished started ones', () => {
    const canaryReady = readingsOf([child('tenant-0', 'v2', 'ready'), child('tenant-1', 'v2', 'ready')]);
    expect(decideWave(order, canaryReady, rollout).start).toEqual(['tenant-2', 'tenant-3', 'tenant-4']);
    const busy = readingsOf([
      child('tenant-0', 'v2', 'ready'),
      child('tenant-1', 'v2', 'ready'),
      child('tenant-2', 'v2', 'migrating'),
      child('tenant-3', 'v2', 'unseen'),
    ]);
    expect(decideWave(order, busy, rollout)).toEqual({ start: ['tenant-4'], holding: null });
  });

  it('halts at maxFailures and resumes when the failure is fixed', () => {
    const views = [
      child('tenant-0', 'v2', 'ready'),
      child('tenant-1', 'v2', 'ready'),
      child('tenant-2', 'v2', 'failed'),
    ];
    expect(decideWave(order, readingsOf(views), rollout)).toEqual({ start: [], holding: 'halted' });
    expect(decideWave(order, readingsOf(views), { ...rollout, maxFailures: 2 }).start).toEqual([
      'tenant-3',
      'tenant-4',
      'tenant-5',
    ]);
    views[2] = child('tenant-2', 'v2', 'ready');
    expect(decideWave(order, readingsOf(views), rollout).start).toEqual(['tenant-3', 'tenant-4', 'tenant-5']);
  });

  it('starts nothing while paused, and starts with no canary when canary is 0', () => {
    expect(decideWave(order, readingsOf([]), { ...rollout, pause: true })).toEqual({
      start: [],
      holding: 'paused',
    });
    expect(decideWave(order, readingsOf([]), { ...rollout, canary: 0 }).start).toEqual([
      'tenant-0',
      'tenant-1',
      'tenant-2',
    ]);
  });

  it('restarts the canary for a new target: children Ready on the old one wait', () => {
    const onOld = order.map((s) => child(s, 'v1', 'ready'));
    expect(decideWave(order, readingsOf(onOld, 'v2'), rollout)).toEqual({
      start: ['tenant-0', 'tenant-1'],
      holding: 'canary',
    });
  });
});

function summaryOf(views: ChildView[]) {
  const readings = readingsOf(views);
  const children = new Map(views.map((v) => [v.secret, v]));
  return summarize('v2', order, readings, children, decideWave(order, readings, rollout), rollout);
}

describe('summarize', () => {
  it('counts states and revisions, names the first failing database, and halts as a retried failure', () => {
    const views = [
      child('tenant-0', 'v2', 'ready'),
      child('tenant-1', 'v2', 'ready'),
      child('tenant-2', 'v2', 'failed'),
    ];
    const summary = summaryOf(views);
    expect(summary.status.counts).toEqual({ Ready: 2, Progressing: 0, Failed: 1, Waiting: 7 });
    expect(summary.status.revisions).toEqual([
      { revision: '', databases: 7 },
      { revision: 'v2', databases: 2 },
      { revision: 'old', databases: 1 },
    ]);
    expect(summary.status.failing).toEqual([
      {
        secret: 'tenant-2',
        migration: 'set-tenant-2',
        reason: 'MigrationFailed',
        message: 'Ready MigrationFailed',
      },
    ]);
    expect(summary.outcome).toMatchObject({ kind: 'failed', reason: 'RolloutHalted', retrying: true });
  });

  it('is a failure for a human when a failing child is stalled', () => {
    const views = [child('tenant-0', 'v2', 'stalled')];
    const summary = summaryOf(views);
    expect(summary.outcome).toMatchObject({ kind: 'failed', retrying: false });
  });

  it('is ready when every database is Ready on the target, and reports a drifted child', () => {
    const views = order.map((s) => child(s, 'v2', 'ready'));
    views[3]!.status!.conditions!.push(condition('Drifted', 'True', 'SchemaDrift'));
    const summary = summaryOf(views);
    expect(summary.outcome.kind).toBe('ready');
    expect(summary.drift).toMatchObject({ reason: 'SchemaDrift' });
    expect(summary.drift?.message).toContain('1 database(s) drifted, first set-tenant-3');
  });
});

describe('children', () => {
  it('names a child after its set and Secret, within 63 characters', () => {
    expect(childName('tenants', 'acme-db')).toBe('tenants-acme-db');
    const long = childName('a-rather-long-set-name', 'and-an-even-longer-tenant-secret-name-for-acme');
    expect(long.length).toBeLessThanOrEqual(63);
    expect(long).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
    expect(childName('a-rather-long-set-name', 'and-an-even-longer-tenant-secret-name-for-acmf')).not.toBe(
      long,
    );
  });

  it("gives a child the set's spec but databases and rollout, with its own database and target", () => {
    const spec = {
      targetRevision: 'v2',
      migrations: { configMapRef: { name: 'chain' } },
      databases: { key: 'url' },
      rollout: { canary: 1 },
    };
    expect(childSpec(spec, { secret: 'acme', key: 'dsn' }, 'v1')).toEqual({
      targetRevision: 'v1',
      migrations: { configMapRef: { name: 'chain' } },
      database: { urlSecretRef: { name: 'acme', key: 'dsn' } },
    });
  });

  it('writes a label selector as the API query parameter', () => {
    expect(
      selectorQuery({
        matchLabels: { app: 'shop' },
        matchExpressions: [
          { key: 'tier', operator: 'In', values: ['gold', 'silver'] },
          { key: 'legacy', operator: 'DoesNotExist' },
          { key: 'region', operator: 'NotIn', values: ['eu'] },
          { key: 'tenant', operator: 'Exists' },
        ],
      }),
    ).toBe('app=shop,tier in (gold,silver),!legacy,region notin (eu),tenant');
  });
});
