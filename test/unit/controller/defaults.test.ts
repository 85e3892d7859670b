import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { specSchema } from '../../../src/controller/resource.js';
import { defaultTables, runDefaults } from '../../../src/migrator/index.js';

const crd = parse(
  readFileSync(join(import.meta.dirname, '../../../deploy/crds/revisor.dev_databasemigrations.yaml'), 'utf8'),
);
const spec = crd.spec.versions[0].schema.openAPIV3Schema.properties.spec.properties;

describe('one place for every default', () => {
  it("the CRD's defaults and the spec parser's are the migrator's run defaults", () => {
    const parsed = specSchema.parse({ database: { urlSecretRef: { name: 'db' } } });
    const expected = {
      lockWaitSeconds: runDefaults.lockWaitMs / 1000,
      lockTimeoutMs: runDefaults.lockTimeoutMs,
      statementTimeoutSeconds: runDefaults.statementTimeoutMs / 1000,
    };
    for (const [field, value] of Object.entries(expected)) {
      expect(spec[field].default, field).toBe(value);
      expect(parsed[field as keyof typeof parsed], field).toBe(value);
    }
    expect(spec.blockers.properties.reportAfterSeconds.default).toBe(
      runDefaults.reportBlockersAfterMs / 1000,
    );
    expect(parsed.blockers.reportAfterSeconds).toBe(runDefaults.reportBlockersAfterMs / 1000);
    expect(spec.versionTable.properties.name.default).toBe(defaultTables.versionTable);
    expect(spec.versionTable.properties.schema.default).toBe(defaultTables.schema);
    expect(parsed.versionTable).toEqual({ name: defaultTables.versionTable, schema: defaultTables.schema });
  });
});
