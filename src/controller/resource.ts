import { z } from 'zod';
import { defaultTables, runDefaults, type Tables, tableProblems } from '../migrator/index.js';

/** DatabaseMigration, revisor.dev/v1alpha1: the spec as the controller reads it. */
export const group = 'revisor.dev';
export const version = 'v1alpha1';
export const plural = 'databasemigrations';
export const kind = 'DatabaseMigration';

const secretKeyRef = (defaultKey: string) =>
  z.object({ name: z.string().min(1), key: z.string().min(1).default(defaultKey) });

/** The migrator's tables for a spec's versionTable; the history table keeps its default name. */
export const tablesOf = (versionTable: { name: string; schema: string }): Tables => ({
  schema: versionTable.schema,
  versionTable: versionTable.name,
  historyTable: defaultTables.historyTable,
});

/** The fields of a DatabaseMigration's spec; a DatabaseMigrationSet shares all but `database`. */
export const specFields = z.object({
  targetRevision: z.string().default('head'),
  database: z.object({
    urlSecretRef: secretKeyRef('url').optional(),
    host: z.string().min(1).optional(),
    port: z.number().int().min(1).max(65535).default(5432),
    name: z.string().min(1).optional(),
    sslMode: z.enum(['disable', 'require', 'verify-ca', 'verify-full']).default('require'),
    credentialsSecretRef: z.object({ name: z.string().min(1) }).optional(),
    caSecretRef: secretKeyRef('ca.crt').optional(),
  }),
  migrations: z
    .object({
      configMapRef: z.object({ name: z.string().min(1) }).optional(),
      image: z.string().min(1).optional(),
      command: z.array(z.string()).optional(),
      imagePullSecrets: z.array(z.object({ name: z.string().min(1) })).optional(),
      serviceAccountName: z.string().min(1).optional(),
      resources: z.record(z.string(), z.unknown()).optional(),
      nodeSelector: z.record(z.string(), z.string()).optional(),
      tolerations: z.array(z.record(z.string(), z.unknown())).optional(),
      activeDeadlineSeconds: z.number().int().min(1).default(3600),
      ttlSecondsAfterFinished: z.number().int().min(0).default(86_400),
    })
    .default({ activeDeadlineSeconds: 3600, ttlSecondsAfterFinished: 86_400 }),
  allowDowngrade: z.boolean().default(false),
  drift: z
    .object({
      action: z.enum(['Report', 'Block']).default('Report'),
      intervalSeconds: z.number().int().min(0).default(300),
    })
    .default({ action: 'Report', intervalSeconds: 300 }),
  backup: z.object({ enabled: z.boolean().default(false) }).default({ enabled: false }),
  approval: z.enum(['Never', 'Destructive', 'Always']).default('Never'),
  postDeploy: z
    .object({
      after: z.object({
        kind: z.enum(['Deployment', 'StatefulSet']),
        name: z.string().min(1),
        image: z.string().min(1).optional(),
      }),
    })
    .optional(),
  dryRun: z.boolean().default(false),
  suspend: z.boolean().default(false),
  lockWaitSeconds: z
    .number()
    .int()
    .min(0)
    .default(runDefaults.lockWaitMs / 1000),
  lockTimeoutMs: z.number().int().min(0).default(runDefaults.lockTimeoutMs),
  statementTimeoutSeconds: z
    .number()
    .int()
    .min(0)
    .default(runDefaults.statementTimeoutMs / 1000),
  blockers: z
    .object({
      reportAfterSeconds: z
        .number()
        .int()
        .min(0)
        .default(runDefaults.reportBlockersAfterMs / 1000),
      cancelAfterSeconds: z.number().int().min(1).optional(),
      terminate: z.boolean().default(false),
    })
    .default({ reportAfterSeconds: runDefaults.reportBlockersAfterMs / 1000, terminate: false }),
  transactionMode: z.enum(['per-migration', 'all']).default('per-migration'),
  versionTable: z
    .object({
      name: z.string().default(defaultTables.versionTable),
      schema: z.string().default(defaultTables.schema),
    })
    .default({ name: defaultTables.versionTable, schema: defaultTables.schema }),
  retry: z
    .object({
      initialBackoffSeconds: z.number().int().min(1).default(5),
      maxBackoffSeconds: z.number().int().min(1).default(300),
      maxAttempts: z.number().int().min(0).default(0),
    })
    .default({ initialBackoffSeconds: 5, maxBackoffSeconds: 300, maxAttempts: 0 }),
});

export const specSchema = specFields
  .refine((s) => Boolean(s.database.urlSecretRef) !== Boolean(s.database.host), {
    message: 'spec.database needs exactly one of urlSecretRef or host',
  })
  .refine((s) => !s.database.host || s.database.credentialsSecretRef, {
    message: 'spec.database.host needs credentialsSecretRef',
  })
  .refine((s) => !(s.migrations.image && s.migrations.configMapRef), {
    message: 'spec.migrations takes at most one of image or configMapRef',
  })
  .refine((s) => !s.migrations.command || s.migrations.image, {
    message: 'spec.migrations.command needs spec.migrations.image',
  })
  // The chain is inside the image, which the controller cannot read: what needs the plan
  // before the run, or a volume of the operator's, is refused rather than half done.
  .refine(
    (s) =>
      !s.migrations.image || (!s.dryRun && s.approval === 'Never' && !s.backup.enabled && !s.allowDowngrade),
    {
      message:
        'spec.migrations.image runs upgrades only: dryRun, approval, backup and allowDowngrade need the chain in the operator (embedded or configMapRef); run revisor plan or downgrade from the image yourself',
    },
  )
  .refine((s) => s.targetRevision !== 'base' || s.allowDowngrade, {
    message: 'targetRevision base needs allowDowngrade: true',
  })
  .refine((s) => !s.targetRevision.endsWith('@base'), {
    message:
      'targetRevision label@base is a downgrade command, not a state; name the revisions to keep instead',
  })
  .superRefine((s, ctx) => {
    // The CRD rejects these too; a resource stored before it did still gets a condition.
    for (const message of tableProblems(tablesOf(s.versionTable)))
      ctx.addIssue({ code: 'custom', path: ['versionTable'], message });
  });

export type Spec = z.infer<typeof specSchema>;

export interface Condition {
  type: 'Ready' | 'Progressing' | 'Degraded' | 'Reconciling' | 'Stalled' | 'Drifted';
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
  lastTransitionTime: string;
  observedGeneration: number;
}

export interface StepRecord {
  revision: string;
  direction: string;
  outcome: string;
  durationMs: number;
  finishedAt: string;
}

export interface Status {
  observedGeneration?: number;
  currentRevision?: string;
  targetRevision?: string;
  pendingRevisions?: string[];
  lastAppliedRevision?: string;
  lastAppliedTime?: string;
  failedRevision?: string;
  attempts?: number;
  steps?: StepRecord[];
  plan?: {
    revision: string;
    direction: string;
    sql: string;
    destructive?: boolean;
    lint?: { rule: string; severity: string; message: string }[];
  }[];
  /** The hash of status.plan, which revisor.dev/approved-plan must name for it to run. */
  planHash?: string;
  /** The backfill running now (op.backfill), or the last one. */
  backfill?: { revision: string; table: string; rowsDone: number; estimatedRows: number };
  /** The dump spec.backup wrote before the last run that destroyed data. */
  lastBackup?: { files: string[]; time: string };
  /** The last migration Job (spec.migrations.image); its outcome outlives the Job. */
  lastRun?: LastRun;
  conditions?: Condition[];
}

export interface LastRun {
  job: string;
  image: string;
  target: string;
  generation: number;
  attempt: number;
  phase: 'Running' | 'Succeeded' | 'Failed' | 'Lost';
  startedAt: string;
  finishedAt?: string;
  heads?: string;
  exitCode?: number;
  errorCode?: string;
  logTail?: string;
}

/** The metadata the controller reads of its resources. */
export interface ResourceMetadata {
  name: string;
  namespace: string;
  uid?: string;
  generation?: number;
  resourceVersion?: string;
  creationTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: OwnerReference[];
}

export interface DatabaseMigration {
  apiVersion?: string;
  kind?: string;
  metadata: ResourceMetadata;
  spec: unknown;
  status?: Status;
}

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

export const keyOf = (o: { metadata: { namespace?: string; name?: string } }) =>
  `${o.metadata.namespace}/${o.metadata.name}`;
