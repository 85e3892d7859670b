import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { setCrdFrom } from '../../../scripts/set-crd.js';
import { repoRoot } from '../../support/cli.js';

const read = (path: string) => readFileSync(join(repoRoot, path), 'utf8');

describe('the DatabaseMigrationSet CRD', () => {
  it('is the one derived from the DatabaseMigration CRD, in deploy/crds and in the chart (npm run crds)', () => {
    const derived = setCrdFrom(read('deploy/crds/revisor.dev_databasemigrations.yaml'));
    expect(read('deploy/crds/revisor.dev_databasemigrationsets.yaml')).toBe(derived);
    expect(read('deploy/helm/revisor/crds/revisor.dev_databasemigrationsets.yaml')).toBe(derived);
  });

  it("shares the DatabaseMigration spec's fields but database, and adds databases and rollout", () => {
    const migration = parse(read('deploy/crds/revisor.dev_databasemigrations.yaml'));
    const set = parse(read('deploy/crds/revisor.dev_databasemigrationsets.yaml'));
    const specOf = (crd: typeof set) => crd.spec.versions[0].schema.openAPIV3Schema.properties.spec;
    const shared = Object.keys(specOf(migration).properties).filter((k) => k !== 'database');
    expect(Object.keys(specOf(set).properties).sort()).toEqual([...shared, 'databases', 'rollout'].sort());
    expect(specOf(set).properties.migrations).toEqual(specOf(migration).properties.migrations);
    expect(set.spec.names.shortNames).toEqual(['dbms']);
  });
});
