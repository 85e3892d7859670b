import { readFileSync, writeFileSync } from 'node:fs';
import { parseDocument, stringify } from 'yaml';

/**
 * The DatabaseMigrationSet CRD, derived from the DatabaseMigration CRD: a set's spec is a
 * DatabaseMigration's without `database`, plus `databases` and `rollout`, so the shared
 * fields are validated alike and cannot drift apart. `npm run crds` writes it;
 * test/unit/controller/set-crd.test.ts fails when the committed file is stale.
 */

const dnsName = {
  type: 'string',
  minLength: 1,
  maxLength: 253,
  pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$',
};
const secretKey = { type: 'string', minLength: 1, maxLength: 253, pattern: '^[-._a-zA-Z0-9]+$' };

const databases = {
  type: 'object',
  description:
    'The tenant databases: the Secrets matching secretSelector (each one database, its URL under key), or an explicit list. Each Secret must allow the set (annotation revisor.dev/allowed-migrations naming the set).',
  'x-kubernetes-validations': [
    {
      rule: 'has(self.secretSelector) != has(self.secrets)',
      message: 'set exactly one of secretSelector or secrets',
    },
  ],
  properties: {
    secretSelector: {
      type: 'object',
      description: 'A label selector over the Secrets of this namespace.',
      'x-kubernetes-validations': [
        {
          rule: 'has(self.matchLabels) || has(self.matchExpressions)',
          message: 'an empty selector would select every Secret of the namespace',
        },
      ],
      properties: {
        matchLabels: {
          type: 'object',
          additionalProperties: { type: 'string' },
          description: 'Labels a Secret must have, each with this value.',
        },
        matchExpressions: {
          type: 'array',
          description: 'Label requirements a Secret must meet, all of them.',
          items: {
            type: 'object',
            required: ['key', 'operator'],
            properties: {
              key: { type: 'string', minLength: 1, description: 'The label.' },
              operator: {
                type: 'string',
                enum: ['In', 'NotIn', 'Exists', 'DoesNotExist'],
                description: 'In, NotIn, Exists or DoesNotExist.',
              },
              values: {
                type: 'array',
                items: { type: 'string' },
                description: 'The values for In and NotIn.',
              },
            },
          },
        },
      },
    },
    key: { ...secretKey, default: 'url', description: 'The Secret key holding the database URL.' },
    secrets: {
      type: 'array',
      maxItems: 10000,
      description: 'Explicit Secrets, in rollout order.',
      items: {
        type: 'object',
        required: ['name'],
        properties: {
          name: { ...dnsName, description: "A Secret in the set's namespace." },
          key: { ...secretKey, description: 'Its key holding the database URL (default: databases.key).' },
        },
      },
    },
  },
};

const rollout = {
  type: 'object',
  default: {},
  description: 'How a new target reaches the databases: the canary first, then in waves.',
  properties: {
    canary: {
      type: 'integer',
      minimum: 0,
      default: 1,
      description:
        'The first K databases (Secret names sorted, or the list order) must be Ready before any other starts.',
    },
    maxParallel: {
      type: 'integer',
      minimum: 1,
      default: 10,
      description: 'At most this many started databases unfinished at once.',
    },
    maxFailures: {
      type: 'integer',
      minimum: 1,
      default: 1,
      description: 'Once this many started databases have failed, nothing new starts until they are fixed.',
    },
    pause: { type: 'boolean', default: false, description: 'Start no database; the running ones finish.' },
  },
};

const counts = {
  type: 'object',
  description: 'How many child DatabaseMigrations are in each state.',
  properties: {
    Ready: { type: 'integer', description: 'At the target.' },
    Progressing: { type: 'integer', description: 'Started and not yet at the target.' },
    Failed: { type: 'integer', description: 'Failed (their reasons are in failing).' },
    Waiting: { type: 'integer', description: 'Not started yet: a later wave.' },
  },
};

export function setCrdFrom(migrationCrd: string): string {
  const crd = parseDocument(migrationCrd).toJS();
  crd.metadata.name = 'databasemigrationsets.revisor.dev';
  crd.spec.names = {
    kind: 'DatabaseMigrationSet',
    listKind: 'DatabaseMigrationSetList',
    plural: 'databasemigrationsets',
    singular: 'databasemigrationset',
    shortNames: ['dbms'],
    categories: ['revisor'],
  };
  for (const version of crd.spec.versions) {
    version.additionalPrinterColumns = [
      { name: 'Target', type: 'string', jsonPath: '.spec.targetRevision' },
      { name: 'Databases', type: 'integer', jsonPath: '.status.databases' },
      { name: 'Ready', type: 'integer', jsonPath: '.status.counts.Ready' },
      { name: 'Failed', type: 'integer', jsonPath: '.status.counts.Failed' },
      { name: 'Reason', type: 'string', jsonPath: '.status.conditions[?(@.type=="Ready")].reason' },
      { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
    ];
    const schema = version.schema.openAPIV3Schema;
    schema.description =
      'Many tenant databases that revisor keeps at one target revision of one chain, through a child DatabaseMigration each, rolled out in waves.';
    const spec = schema.properties.spec;
    const { database: _database, ...shared } = spec.properties;
    spec.properties = { ...shared, databases, rollout };
    spec.required = ['databases'];
    const conditions = schema.properties.status.properties.conditions;
    schema.properties.kind.description = 'DatabaseMigrationSet.';
    schema.properties.status = {
      type: 'object',
      description: "The rollout: what the set's children report, written once per reconcile.",
      properties: {
        observedGeneration: { type: 'integer', description: 'The spec generation this status describes.' },
        targetRevision: { type: 'string', description: 'The target revision the children are given.' },
        databases: { type: 'integer', description: 'How many databases the set has.' },
        counts,
        revisions: {
          type: 'array',
          description: 'How many databases are at each revision ("" for none).',
          items: {
            type: 'object',
            properties: {
              revision: { type: 'string', description: 'A revision, or "" for a database at base.' },
              databases: { type: 'integer', description: 'How many databases are at it.' },
            },
          },
        },
        failing: {
          type: 'array',
          description: 'The first failing databases, in rollout order.',
          items: {
            type: 'object',
            properties: {
              secret: { type: 'string', description: "The database's Secret." },
              migration: { type: 'string', description: 'Its child DatabaseMigration.' },
              reason: { type: 'string', description: "The child's Ready reason." },
              message: { type: 'string', description: "The child's Ready message." },
            },
          },
        },
        conditions,
      },
    };
  }
  return `# Generated by scripts/set-crd.ts from revisor.dev_databasemigrations.yaml (npm run crds); do not edit.\n${stringify(crd, { lineWidth: 0 })}`;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const text = setCrdFrom(readFileSync('deploy/crds/revisor.dev_databasemigrations.yaml', 'utf8'));
  for (const dir of ['deploy/crds', 'deploy/helm/revisor/crds'])
    writeFileSync(`${dir}/revisor.dev_databasemigrationsets.yaml`, text);
}
