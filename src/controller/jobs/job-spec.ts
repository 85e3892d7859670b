import { createHash } from 'node:crypto';
import type {
  V1Container,
  V1EnvVar,
  V1Job,
  V1Toleration,
  V1Volume,
  V1VolumeMount,
} from '@kubernetes/client-node';
import { group, kind, type Spec, version } from '../resource.js';

/** Labels on migration Jobs and their pods: which resource, which database. */
export const jobLabels = {
  managedBy: 'app.kubernetes.io/managed-by',
  migration: 'revisor.dev/migration',
  database: 'revisor.dev/database',
} as const;

/** The label the Job controller puts on a Job's pods. */
export const jobNameLabel = 'batch.kubernetes.io/job-name';

export interface JobRequest {
  readonly resource: { readonly name: string; readonly namespace: string; readonly uid: string };
  readonly spec: Spec;
  readonly generation: number;
  readonly attempt: number;
  /** databaseKey(): the same for every resource on one database. */
  readonly database: string;
  /**
   * The Secret's policy on cleartext and MD5 password authentication, carried into the Job
   * so the run there refuses what the controller's own connection refuses.
   */
  readonly refuseInsecureAuth: boolean;
  /** Trace context and exporter settings for the Job's own spans (TRACEPARENT, OTEL_*). */
  readonly traceEnv: Readonly<Record<string, string>>;
}

const hash = (parts: readonly unknown[], length: number) =>
  createHash('sha256').update(JSON.stringify(parts)).digest('hex').slice(0, length);

/**
 * Which database a connection reaches, as a label value: host, port and database name,
 * hashed, never a credential. Two resources on one database share it.
 */
export function databaseKey(spec: Spec, url: string | undefined): string {
  if (url) {
    const parsed = new URL(url);
    return hash(
      [parsed.hostname.toLowerCase(), parsed.port || '5432', decodeURIComponent(parsed.pathname)],
      16,
    );
  }
  const db = spec.database;
  return hash([db.host?.toLowerCase(), String(db.port), `/${db.name ?? ''}`], 16);
}

/**
 * The Job's name: the same for the same resource, generation and attempt, so a Job created
 * just before the controller stopped is found again instead of made twice.
 */
export function jobName(request: Pick<JobRequest, 'resource' | 'generation' | 'attempt'>): string {
  const suffix = hash([request.resource.uid, request.generation, request.attempt], 8);
  return `${request.resource.name.slice(0, 40).replace(/[-.]+$/, '')}-migrate-${suffix}`;
}

const fromSecret = (name: string, secret: string, key: string): V1EnvVar => ({
  name,
  valueFrom: { secretKeyRef: { name: secret, key } },
});

const caDir = '/etc/revisor/ca';

/**
 * The connection as the CLI reads it, every credential a reference to the Secret (the
 * kubelet resolves it): nothing secret is copied into the Job.
 */
function connectionEnv(spec: Spec): { env: V1EnvVar[]; caSecret?: { name: string; key: string } } {
  const db = spec.database;
  if (db.urlSecretRef)
    return { env: [fromSecret('DATABASE_URL', db.urlSecretRef.name, db.urlSecretRef.key)] };
  const credentials = db.credentialsSecretRef!.name;
  const env: V1EnvVar[] = [
    { name: 'PGHOST', value: db.host! },
    { name: 'PGPORT', value: String(db.port) },
    fromSecret('PGUSER', credentials, 'username'),
    fromSecret('PGPASSWORD', credentials, 'password'),
    { name: 'PGSSLMODE', value: db.sslMode },
  ];
  if (db.name) env.push({ name: 'PGDATABASE', value: db.name });
  if (!db.caSecretRef) return { env };
  env.push({ name: 'REVISOR_SSL_CA', value: `${caDir}/ca.crt` });
  return { env, caSecret: { name: db.caSecretRef.name, key: db.caSecretRef.key } };
}

/** The spec's run settings, as the CLI's environment variables. */
function settingsEnv(spec: Spec): V1EnvVar[] {
  return [
    { name: 'REVISOR_VERSION_TABLE', value: spec.versionTable.name },
    { name: 'REVISOR_VERSION_SCHEMA', value: spec.versionTable.schema },
    { name: 'REVISOR_LOCK_WAIT', value: `${spec.lockWaitSeconds}s` },
    { name: 'REVISOR_LOCK_TIMEOUT', value: `${spec.lockTimeoutMs}ms` },
    { name: 'REVISOR_STATEMENT_TIMEOUT', value: `${spec.statementTimeoutSeconds}s` },
    { name: 'REVISOR_TRANSACTION_MODE', value: spec.transactionMode },
    { name: 'REVISOR_REPORT_BLOCKERS_AFTER', value: `${spec.blockers.reportAfterSeconds}s` },
    ...(spec.blockers.cancelAfterSeconds
      ? [{ name: 'REVISOR_CANCEL_BLOCKERS_AFTER', value: `${spec.blockers.cancelAfterSeconds}s` }]
      : []),
    ...(spec.blockers.terminate ? [{ name: 'REVISOR_TERMINATE_BLOCKERS', value: 'true' }] : []),
  ];
}

/**
 * One run of `revisor upgrade <target>` from the application's image: no retries of its
 * own (backoffLimit 0: retries follow the resource's retry policy), a deadline, cleaned up
 * after ttlSecondsAfterFinished and with its owner, under the restricted Pod Security
 * Standard, and its log's tail kept as the termination message when it fails.
 */
export function migrationJob(request: JobRequest): V1Job {
  const { resource, spec } = request;
  const m = spec.migrations;
  const labels = {
    [jobLabels.managedBy]: 'revisor',
    [jobLabels.migration]: resource.name.slice(0, 63).replace(/[-.]+$/, ''),
    [jobLabels.database]: request.database,
  };
  const connection = connectionEnv(spec);
  const volumes: V1Volume[] = [{ name: 'tmp', emptyDir: {} }];
  const mounts: V1VolumeMount[] = [{ name: 'tmp', mountPath: '/tmp' }];
  if (connection.caSecret) {
    volumes.push({
      name: 'ca',
      secret: {
        secretName: connection.caSecret.name,
        items: [{ key: connection.caSecret.key, path: 'ca.crt' }],
      },
    });
    mounts.push({ name: 'ca', mountPath: caDir, readOnly: true });
  }
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: {
      name: jobName(request),
      namespace: resource.namespace,
      labels,
      ownerReferences: [
        {
          apiVersion: `${group}/${version}`,
          kind,
          name: resource.name,
          uid: resource.uid,
          controller: true,
          blockOwnerDeletion: true,
        },
      ],
    },
    spec: {
      backoffLimit: 0,
      activeDeadlineSeconds: m.activeDeadlineSeconds,
      ttlSecondsAfterFinished: m.ttlSecondsAfterFinished,
      template: {
        metadata: { labels },
        spec: {
          restartPolicy: 'Never',
          automountServiceAccountToken: false,
          ...(m.serviceAccountName ? { serviceAccountName: m.serviceAccountName } : {}),
          ...(m.imagePullSecrets ? { imagePullSecrets: m.imagePullSecrets } : {}),
          ...(m.nodeSelector ? { nodeSelector: m.nodeSelector } : {}),
          ...(m.tolerations ? { tolerations: m.tolerations as V1Toleration[] } : {}),
          securityContext: { runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } },
          volumes,
          containers: [migrateContainer(request, connection.env, mounts)],
        },
      },
    },
  };
}

/** The container: revisor upgrade, non-root on a read-only root filesystem, no capabilities. */
function migrateContainer(
  request: JobRequest,
  connectionEnv: V1EnvVar[],
  mounts: V1VolumeMount[],
): V1Container {
  const { spec } = request;
  const m = spec.migrations;
  return {
    name: 'migrate',
    image: m.image!,
    ...(m.command ? { command: m.command } : {}),
    args: ['upgrade', spec.targetRevision],
    env: [
      ...connectionEnv,
      ...settingsEnv(spec),
      ...(request.refuseInsecureAuth ? [{ name: 'REVISOR_REFUSE_INSECURE_AUTH', value: 'true' }] : []),
      { name: 'REVISOR_LOG_LEVEL', value: 'info' },
      ...Object.entries(request.traceEnv).map(([name, value]) => ({ name, value })),
    ],
    ...(m.resources ? { resources: m.resources } : {}),
    terminationMessagePolicy: 'FallbackToLogsOnError',
    securityContext: {
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      runAsNonRoot: true,
      capabilities: { drop: ['ALL'] },
    },
    volumeMounts: mounts,
  };
}
