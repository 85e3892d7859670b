import { describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';
import { connect, createTestDatabase } from '../support/db.js';

describe('revisor drift', () => {
  it('reports a column dropped and an index added by hand since the last apply, and nothing before that', async () => {
    const url = await createTestDatabase();
    const env = { DATABASE_URL: url };
    const nothing = await runCli(['drift'], env);
    expect(nothing.code, nothing.stderr).toBe(0);
    expect(nothing.stdout).toContain('no schema recorded yet');

    expect((await runCli(['upgrade', 'head'], env)).code).toBe(0);
    const clean = await runCli(['drift'], env);
    expect(clean.code, clean.stdout + clean.stderr).toBe(0);
    expect(clean.stdout).toContain('no drift: the schema is as recorded after c0b7d0e366e7');

    const db = await connect(url);
    await db.query('ALTER TABLE organizations DROP COLUMN deleted_at');
    await db.query('CREATE INDEX by_hand ON users (created_at)');
    await db.end();
    const drifted = await runCli(['drift'], env);
    expect(drifted.code).toBe(33);
    expect(drifted.stdout).toContain('- column public.organizations.deleted_at timestamp with time zone');
    expect(drifted.stdout).toContain(
      '+ index public.by_hand CREATE INDEX by_hand ON public.users USING btree (created_at)',
    );
    expect(drifted.stderr).toContain('[SchemaDiffers]');
    const json = JSON.parse((await runCli(['drift', '--json'], env)).stdout);
    expect(json.differences).toHaveLength(2);

    // The next apply records the schema as it then is: drift is relative to the last apply.
    expect((await runCli(['downgrade', '-1'], env)).code).toBe(0);
    expect((await runCli(['drift'], env)).code).toBe(0);
  });

  it('records nothing with --no-record-schema', async () => {
    const env = { DATABASE_URL: await createTestDatabase() };
    expect((await runCli(['upgrade', 'head', '--no-record-schema'], env)).code).toBe(0);
    expect((await runCli(['drift'], env)).stdout).toContain('no schema recorded yet');
  });
});
