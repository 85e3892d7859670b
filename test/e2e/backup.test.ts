import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sqlMigration } from '../support/cli.js';
import {
  applyManifest,
  conditionOf,
  dbm,
  readyWith,
  startController,
  urlSecret,
  waitForStatus,
} from '../support/controller.js';
import { testNamespace } from '../support/kube/clients.js';
import { startPostgresMajor } from '../support/postgres-major.js';
import { testDir } from '../support/temp-dir.js';

const chain = {
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name: 'chain' },
  data: {
    '1.sql': sqlMigration(
      'base0001',
      null,
      "CREATE TABLE notes (id int PRIMARY KEY, body text);\nINSERT INTO notes VALUES (1, 'keep me');",
      'DROP TABLE notes;',
    ),
    '2.sql': sqlMigration(
      'drop0002',
      'base0001',
      'ALTER TABLE notes DROP COLUMN body;',
      'ALTER TABLE notes ADD COLUMN body text;',
    ).replace('-- migrate:upgrade', '-- destroys: column notes.body\n-- migrate:upgrade'),
  },
};

describe('spec.backup on the real API server', () => {
  let server: Awaited<ReturnType<typeof startPostgresMajor>>;
  beforeAll(async () => {
    server = await startPostgresMajor(15);
  }, 120_000);
  afterAll(() => server?.stop());

  it("dumps onto the operator's backup volume before a run that destroys data, and shows where in status", async () => {
    const admin = new pg.Client({ connectionString: server.url });
    await admin.connect();
    await admin.query('CREATE DATABASE app_backup');
    await admin.end();
    const url = server.url.replace(/\/postgres$/, '/app_backup');
    const dir = await testDir('revisor-operator-backups-');
    const ns = await testNamespace();
    await applyManifest(ns, urlSecret('app-db', url));
    await applyManifest(ns, chain);
    await startController(['--namespaces', ns, '--backup-dir', dir]);
    const spec = (targetRevision: string) =>
      dbm('app', {
        targetRevision,
        database: { urlSecretRef: { name: 'app-db' } },
        migrations: { configMapRef: { name: 'chain' } },
        backup: { enabled: true },
      });
    // First the table and its row; creating destroys nothing, so no dump.
    await applyManifest(ns, spec('base0001'));
    const created = await waitForStatus(
      ns,
      'app',
      (s) => readyWith('Applied')(s) && s?.currentRevision === 'base0001',
      60_000,
    );
    expect(created.lastBackup).toBeUndefined();
    await applyManifest(ns, spec('head'));
    const status = await waitForStatus(
      ns,
      'app',
      (s) => readyWith('Applied')(s) && s?.currentRevision === 'drop0002',
      60_000,
    );
    expect(status.currentRevision).toBe('drop0002');
    const files = status.lastBackup?.files ?? [];
    expect(files).toHaveLength(2);
    for (const f of files) {
      expect(f.startsWith(join(dir, ns, 'app'))).toBe(true);
      expect(existsSync(f)).toBe(true);
    }
    const data = await readFile(files.find((f) => f.endsWith('_data.sql'))!, 'utf8');
    expect(data).toContain('keep me');
  });

  it('refuses spec.backup when the operator has no backup volume: InvalidSpec, nothing run', async () => {
    const ns = await testNamespace();
    await applyManifest(ns, urlSecret('app-db', server.url));
    await applyManifest(ns, chain);
    await startController(['--namespaces', ns]);
    await applyManifest(
      ns,
      dbm('app', {
        database: { urlSecretRef: { name: 'app-db' } },
        migrations: { configMapRef: { name: 'chain' } },
        backup: { enabled: true },
      }),
    );
    const status = await waitForStatus(ns, 'app', readyWith('InvalidSpec'), 30_000);
    expect(conditionOf(status, 'Ready')?.message).toContain('operator.backup.persistentVolumeClaim');
  });
});
