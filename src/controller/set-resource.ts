import { z } from 'zod';
import type { Condition, OwnerReference, ResourceMetadata } from './resource.js';
import { specFields } from './resource.js';

/** DatabaseMigrationSet, revisor.dev/v1alpha1: one chain and target for many tenant databases. */
export const setPlural = 'databasemigrationsets';
export const setKind = 'DatabaseMigrationSet';

const labelSelector = z.object({
  matchLabels: z.record(z.string(), z.string()).optional(),
  matchExpressions: z
    .array(
      z.object({
        key: z.string().min(1),
        operator: z.enum(['In', 'NotIn', 'Exists', 'DoesNotExist']),
        values: z.array(z.string()).optional(),
      }),
    )
    .optional(),
});
export type LabelSelector = z.infer<typeof labelSelector>;

export const setSpecSchema = specFields.omit({ database: true }).extend({
  databases: z
    .object({
      secretSelector: labelSelector.optional(),
      key: z.string().min(1).default('url'),
      secrets: z.array(z.object({ name: z.string().min(1), key: z.string().min(1).optional() })).optional(),
    })
    .refine((d) => Boolean(d.secretSelector) !== Boolean(d.secrets), {
      message: 'spec.databases needs exactly one of secretSelector or secrets',
    })
    .refine((d) => !d.secretSelector || (d.secretSelector.matchLabels ?? d.secretSelector.matchExpressions), {
      message:
        'spec.databases.secretSelector selects every Secret of the namespace; give matchLabels or matchExpressions',
    }),
  rollout: z
    .object({
      canary: z.number().int().min(0).default(1),
      maxParallel: z.number().int().min(1).default(10),
      maxFailures: z.number().int().min(1).default(1),
      pause: z.boolean().default(false),
    })
    .default({ canary: 1, maxParallel: 10, maxFailures: 1, pause: false }),
});

export type SetSpec = z.infer<typeof setSpecSchema>;

/** The four states a tenant database is counted in. */
export type TenantState = 'Ready' | 'Progressing' | 'Failed' | 'Waiting';

export interface SetStatus {
  observedGeneration?: number;
  targetRevision?: string;
  databases?: number;
  counts?: Record<TenantState, number>;
  /** How many databases are at each revision ("" for none), most first. */
  revisions?: { revision: string; databases: number }[];
  /** The first failing databases, in rollout order. */
  failing?: { secret: string; migration: string; reason: string; message: string }[];
  conditions?: Condition[];
}

export interface DatabaseMigrationSet {
  apiVersion?: string;
  kind?: string;
  metadata: ResourceMetadata;
  spec: unknown;
  status?: SetStatus;
}

/** The label a controller shard selects its resources by (`--selector`); a set's children carry its own. */
export const shardLabel = 'revisor.dev/shard';

/** The set that controls a DatabaseMigration, from its controller owner reference. */
export function owningSet(metadata: { ownerReferences?: OwnerReference[] }): string | undefined {
  return metadata.ownerReferences?.find((o) => o.controller && o.kind === setKind)?.name;
}
