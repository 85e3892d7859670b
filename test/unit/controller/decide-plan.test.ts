import { describe, expect, it } from 'vitest';
import {
  decideAfterRun,
  decideOnInspection,
  decidePlan,
  decideRetry,
  type PlanFacts,
} from '../../../src/controller/migration/decide-plan.js';
import type { Status } from '../../../src/controller/resource.js';
import { RevisionGraph } from '../../../src/migrator/chain/graph.js';
import { parseSqlMigration } from '../../../src/migrator/chain/sql-file.js';
import type { Finding } from '../../../src/migrator/lint/lint.js';
import { plan } from '../../../src/migrator/plan/planner.js';
import { sqlMigration } from '../../support/cli.js';

const graph = RevisionGraph.build([
  parseSqlMigration(
    sqlMigration('aaaa0001', null, 'CREATE TABLE t (id int, note text);', 'DROP TABLE t;'),
    '1.sql',
  ),
  parseSqlMigration(
    sqlMigration(
      'bbbb0002',
      'aaaa0001',
      'ALTER TABLE t DROP COLUMN note;',
      'ALTER TABLE t ADD COLUMN note text;',
    ),
    '2.sql',
  ),
]);
const up = plan(graph, ['aaaa0001'], 'upgrade', 'head');
const none = plan(graph, ['bbbb0002'], 'upgrade', 'head');
const down = plan(graph, ['bbbb0002'], 'downgrade', 'aaaa0001');
const ready: Status = {
  currentRevision: 'aaaa0001',
  conditions: [
    {
      type: 'Ready',
      status: 'True',
      reason: 'Applied',
      message: '',
      lastTransitionTime: '',
      observedGeneration: 1,
    },
  ],
};
const drifted = { reason: 'SchemaDrift', message: 'a column was dropped by hand' } as const;
const lintError: Finding = {
  rule: 'create-index-non-concurrent',
  severity: 'error',
  revision: 'bbbb0002',
  file: '2.sql',
  line: 5,
  statement: 'CREATE INDEX ix ON t (id)',
  message: 'CREATE INDEX on existing table t blocks its writes while it builds',
  advice: 'CONCURRENTLY',
  waived: null,
  cost: { table: 't', work: 'build', lock: 'SHARE' },
  there: { harmless: false, text: 'builds an index over t (≈ 48 M rows, 31 GB) under SHARE' },
};

const facts = (
  overrides: Omit<Partial<PlanFacts>, 'spec'> & { spec?: Partial<PlanFacts['spec']> } = {},
): PlanFacts => ({
  previous: {},
  currentRevision: 'aaaa0001',
  targetRevision: 'bbbb0002',
  planned: up,
  gated: { plan: up, waiting: null },
  schemaDrift: null,
  findings: [],
  approvedHash: undefined,
  ...overrides,
  spec: {
    targetRevision: 'head',
    allowDowngrade: false,
    dryRun: false,
    approval: 'Never',
    drift: { action: 'Report', intervalSeconds: 300 },
    ...overrides.spec,
  },
});

describe('decideOnInspection', () => {
  it.each([
    ['ChecksumMismatch', { checksumError: 'aaaa0001 was edited' }],
    ['OutOfBandChange', { previous: ready, currentRevision: 'bbbb0002' }],
    [null, { previous: ready, currentRevision: 'bbbb0002', newGeneration: true }],
    [null, { previous: { currentRevision: 'aaaa0001' }, currentRevision: 'bbbb0002' }],
    [null, { previous: ready, currentRevision: 'aaaa0001' }],
  ])('%s', (reason, overrides) => {
    const decision = decideOnInspection({
      previous: {},
      newGeneration: false,
      currentRevision: 'aaaa0001',
      checksumError: null,
      ...overrides,
    });
    expect(decision?.reason ?? null).toBe(reason);
    if (decision) expect(decision).toMatchObject({ event: true, requeue: 'resync', drift: { reason } });
  });
});

describe('decidePlan: one row per outcome', () => {
  const rows: [string, PlanFacts, Record<string, unknown>][] = [
    [
      'DriftBlocked',
      facts({ schemaDrift: drifted, spec: { drift: { action: 'Block', intervalSeconds: 300 } } }),
      { kind: 'refuse', reason: 'DriftBlocked', event: false, requeue: 'resync', drift: drifted },
    ],
    ['drift only reported', facts({ schemaDrift: drifted }), { kind: 'run' }],
    [
      'DowngradeNotAllowed',
      facts({
        planned: down,
        gated: { plan: down, waiting: null },
        currentRevision: 'bbbb0002',
        targetRevision: 'aaaa0001',
      }),
      { kind: 'refuse', reason: 'DowngradeNotAllowed', event: true, requeue: 'change', drift: null },
    ],
    [
      'a downgrade allowed',
      facts({ planned: down, gated: { plan: down, waiting: null }, spec: { allowDowngrade: true } }),
      { kind: 'run', plan: down },
    ],
    [
      'DryRun',
      facts({ spec: { dryRun: true } }),
      { kind: 'dry-run', message: 'dry run: 1 step(s) would run (upgrade); see status.plan' },
    ],
    [
      'DryRun at the target',
      facts({ planned: none, gated: { plan: none, waiting: null }, spec: { dryRun: true } }),
      { kind: 'dry-run', message: 'dry run: the database is at the target' },
    ],
    [
      'ApprovalRequired (destructive)',
      facts({ spec: { approval: 'Destructive' } }),
      { kind: 'await-approval', announce: true },
    ],
    [
      'ApprovalRequired (lint on a big table)',
      facts({ spec: { approval: 'Destructive' }, findings: [lintError] }),
      { kind: 'await-approval' },
    ],
    [
      'ApprovalRequired for another plan than the last one announced',
      facts({ spec: { approval: 'Always' }, previous: { planHash: 'x' } }),
      { kind: 'await-approval', announce: true },
    ],
    [
      'WaitingForRollout',
      facts({ gated: { plan: none, waiting: 'post-deploy steps wait for deployment/app' } }),
      { kind: 'wait-rollout', message: 'post-deploy steps wait for deployment/app' },
    ],
    [
      'Applied (nothing to do)',
      facts({ planned: none, gated: { plan: none, waiting: null }, currentRevision: 'bbbb0002' }),
      { kind: 'ready', message: 'the database is at bbbb0002' },
    ],
    [
      'Migrating',
      facts(),
      { kind: 'run', plan: up, startMessage: 'upgrade aaaa0001 -> bbbb0002: 1 step(s)' },
    ],
  ];
  it.each(rows)('%s', (_name, input, expected) => {
    expect(decidePlan(input)).toMatchObject(expected);
  });

  it('an approval of this plan lets it run; the same approval is not announced twice', () => {
    const waiting = decidePlan(facts({ spec: { approval: 'Always' } }));
    if (waiting.kind !== 'await-approval') throw new Error(waiting.kind);
    expect(
      decidePlan(facts({ spec: { approval: 'Always' }, approvedHash: waiting.approval.hash })).kind,
    ).toBe('run');
    const again = decidePlan(
      facts({ spec: { approval: 'Always' }, previous: { planHash: waiting.approval.hash } }),
    );
    expect(again).toMatchObject({ kind: 'await-approval', announce: false });
  });
});

describe('decideRetry: what a failure leads to', () => {
  const retry = { initialBackoffSeconds: 5, maxBackoffSeconds: 60, maxAttempts: 0 };
  it.each([
    [
      'transient: retried with backoff',
      retry,
      0,
      'ConnectionFailed',
      { reason: 'ConnectionFailed', transient: true, requeueAfterMs: 5000, attempts: 1 },
    ],
    [
      'backoff doubles up to its cap',
      retry,
      5,
      'ConnectionFailed',
      { transient: true, requeueAfterMs: 60_000, attempts: 6 },
    ],
    [
      'not transient: left for a person',
      retry,
      0,
      'ChecksumMismatch',
      { reason: 'ChecksumMismatch', transient: false, requeueAfterMs: null },
    ],
    [
      'RetriesExhausted',
      { ...retry, maxAttempts: 3 },
      2,
      'ConnectionFailed',
      { reason: 'RetriesExhausted', transient: false, requeueAfterMs: null, attempts: 3 },
    ],
  ] as const)('%s', (_name, policy, attempts, reason, expected) => {
    expect(decideRetry(policy, attempts, reason, 'it failed')).toMatchObject(expected);
  });

  it('says what happens next', () => {
    expect(decideRetry(retry, 0, 'ConnectionFailed', 'no route').message).toBe(
      'no route; retrying in 5s (attempt 1)',
    );
    expect(decideRetry({ ...retry, maxAttempts: 1 }, 0, 'ConnectionFailed', 'no route').message).toBe(
      'no route; gave up after 1 attempts: change the spec to try again',
    );
  });
});

describe("decideAfterRun: a run's end", () => {
  const ran = {
    error: null,
    waiting: null,
    currentRevision: 'bbbb0002',
    run: 'upgrade aaaa0001 -> bbbb0002: 1 step(s)',
  };
  it.each([
    [
      'MigrationFailed',
      { ...ran, error: { code: 'MigrationFailed', message: 'bad SQL' } },
      { kind: 'retry', reason: 'MigrationFailed', message: 'bad SQL' },
    ],
    [
      'ConnectionFailed',
      { ...ran, error: { code: 'ConnectionFailed', message: 'lost it' } },
      { kind: 'retry', reason: 'ConnectionFailed' },
    ],
    [
      'DatabaseMoved',
      { ...ran, error: { code: 'PlanOutdated', message: 'moved' } },
      { kind: 'retry', reason: 'DatabaseMoved' },
    ],
    [
      'WaitingForRollout',
      { ...ran, waiting: 'post-deploy steps wait' },
      { kind: 'wait-rollout', message: 'post-deploy steps wait' },
    ],
    [
      'Applied',
      ran,
      {
        kind: 'ready',
        message: 'the database is at bbbb0002',
        event: 'upgrade aaaa0001 -> bbbb0002: 1 step(s) applied; the database is at bbbb0002',
      },
    ],
  ] as const)('%s', (_name, input, expected) => {
    expect(decideAfterRun(input)).toMatchObject(expected);
  });
});
