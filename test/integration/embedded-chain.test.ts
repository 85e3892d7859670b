import type pg from 'pg';
import { describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';
import { connect, createTestDatabase, tableNames, versionRows } from '../support/db.js';

const seedTables = [
  'audit_logs',
  'hook_executions',
  'hooks',
  'mcp_servers',
  'messages',
  'organizations',
  'permission_decisions',
  'reports',
  'session_metrics_snapshots',
  'session_templates',
  'sessions',
  'task_executions',
  'tasks',
  'tool_calls',
  'users',
  'working_directories',
  'working_directory_archives',
];

async function columnType(db: pg.Client, table: string, column: string): Promise<string | undefined> {
  const { rows } = await db.query(
    `SELECT format_type(atttypid, atttypmod) AS type FROM pg_attribute
      WHERE attrelid = to_regclass($1) AND attname = $2 AND NOT attisdropped`,
    [table, column],
  );
  return rows[0]?.type;
}

async function foreignKeys(db: pg.Client): Promise<string[]> {
  const { rows } = await db.query(
    `SELECT conrelid::regclass::text || '(' || (SELECT string_agg(attname, ',') FROM pg_attribute
              WHERE attrelid = conrelid AND attnum = ANY (conkey)) || ') -> ' || confrelid::regclass::text
            || ' ' || confdeltype::text AS fk
       FROM pg_constraint WHERE contype = 'f' ORDER BY 1`,
  );
  return rows.map((r) => r.fk);
}

async function indexDefs(db: pg.Client): Promise<Record<string, string>> {
  const { rows } = await db.query("SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public'");
  return Object.fromEntries(rows.map((r) => [r.indexname, r.indexdef]));
}

async function checkNames(db: pg.Client): Promise<string[]> {
  const { rows } = await db.query("SELECT conname FROM pg_constraint WHERE contype = 'c' ORDER BY 1");
  return rows.map((r) => r.conname);
}

describe('the embedded chain builds the schema the seed describes', () => {
  it('has every table, key column, foreign key action, check and index at head, and none after base', async () => {
    const url = await createTestDatabase();
    const db = await connect(url);
    expect((await runCli(['upgrade', 'head'], { DATABASE_URL: url })).code).toBe(0);
    expect(await versionRows(db)).toEqual(['c0b7d0e366e7']);
    expect(await tableNames(db)).toEqual(['alembic_version', ...seedTables, 'revisor_history'].sort());

    expect(await columnType(db, 'users', 'id')).toBe('uuid');
    expect(await columnType(db, 'users', 'email')).toBe('character varying(255)');
    expect(await columnType(db, 'audit_logs', 'ip_address')).toBe('inet');
    expect(await columnType(db, 'audit_logs', 'details')).toBe('jsonb');
    expect(await columnType(db, 'messages', 'content')).toBe('jsonb');
    expect(await columnType(db, 'sessions', 'created_at')).toBe('timestamp with time zone');
    expect(await columnType(db, 'session_templates', 'tags')).toBe('character varying[]');
    expect(await columnType(db, 'sessions', 'template_id')).toBe('uuid');
    expect(await columnType(db, 'sessions', 'include_partial_messages')).toBe('boolean');
    expect(await columnType(db, 'sessions', 'hooks_enabled')).toBe('jsonb');
    expect(await columnType(db, 'messages', 'parent_message_id')).toBe('uuid');
    expect(await columnType(db, 'tool_calls', 'hook_pre_data')).toBe('jsonb');

    // confdeltype: c = CASCADE, n = SET NULL.
    const fks = await foreignKeys(db);
    for (const fk of [
      'users(organization_id) -> organizations c',
      'hooks(user_id) -> users c',
      'mcp_servers(user_id) -> users c',
      'tasks(user_id) -> users c',
      'sessions(user_id) -> users c',
      'sessions(parent_session_id) -> sessions n',
      'messages(session_id) -> sessions c',
      'tool_calls(session_id) -> sessions c',
      'tool_calls(message_id) -> messages n',
      'task_executions(task_id) -> tasks c',
      'task_executions(session_id) -> sessions n',
      'working_directories(session_id) -> sessions c',
      'audit_logs(user_id) -> users n',
      'audit_logs(session_id) -> sessions n',
      'session_templates(user_id) -> users c',
      'sessions(template_id) -> session_templates n',
      'working_directory_archives(session_id) -> sessions c',
      'hook_executions(session_id) -> sessions c',
      'hook_executions(tool_call_id) -> tool_calls n',
      'permission_decisions(session_id) -> sessions c',
      'messages(parent_message_id) -> messages c',
    ]) {
      expect(fks).toContain(fk);
    }

    const checks = await checkNames(db);
    for (const name of [
      'ck_users_chk_role',
      'ck_users_chk_quotas',
      'ck_organizations_chk_plan',
      'ck_session_templates_category',
      'ck_working_directory_archives_status',
      'ck_working_directory_archives_storage_backend',
      'ck_working_directory_archives_size_bytes',
      'ck_permission_decisions_decision',
    ]) {
      expect(checks).toContain(name);
    }

    const indexes = await indexDefs(db);
    expect(indexes['ix_users_email']).toBe(
      'CREATE UNIQUE INDEX ix_users_email ON public.users USING btree (email)',
    );
    expect(indexes['uq_users_username']).toContain(
      'UNIQUE INDEX uq_users_username ON public.users USING btree (username)',
    );
    expect(indexes['ix_messages_session_sequence']).toBe(
      'CREATE UNIQUE INDEX ix_messages_session_sequence ON public.messages USING btree (session_id, sequence_number)',
    );
    expect(indexes['idx_templates_tags']).toBe(
      'CREATE INDEX idx_templates_tags ON public.session_templates USING gin (tags)',
    );
    expect(indexes['idx_templates_public']).toContain('WHERE ((is_public = true) AND (deleted_at IS NULL))');
    expect(indexes['ix_audit_logs_created_at']).toContain('(created_at DESC)');
    expect(indexes['ix_audit_logs_user_created']).toContain('(user_id, created_at DESC)');
    expect(indexes['idx_hook_executions_input_data']).toContain('USING gin (input_data)');
    expect(indexes['idx_permission_decisions_input_data']).toContain('USING gin (input_data)');
    expect(indexes['idx_archives_session_created']).toContain('(session_id, created_at)');
    expect(indexes['idx_metrics_type_created']).toContain('(snapshot_type, created_at)');

    // The check rejects what the seed forbids.
    await db.query(
      "INSERT INTO organizations (id, name, slug) VALUES ('00000000-0000-0000-0000-000000000001', 'o', 'o')",
    );
    await expect(
      db.query(
        `INSERT INTO users (id, organization_id, email, username, password_hash, role)
         VALUES (gen_random_uuid(), '00000000-0000-0000-0000-000000000001', 'a@b', 'a', 'x', 'root')`,
      ),
    ).rejects.toThrow(/ck_users_chk_role/);

    expect((await runCli(['downgrade', '567cc0f251e5'], { DATABASE_URL: url })).code).toBe(0);
    expect(await columnType(db, 'sessions', 'hooks_enabled')).toBeUndefined();
    expect(await columnType(db, 'sessions', 'template_id')).toBe('uuid');
    expect((await indexDefs(db))['ix_audit_logs_created_at']).toContain('(created_at DESC)');
    expect((await runCli(['downgrade', '972fc63ffb69'], { DATABASE_URL: url })).code).toBe(0);
    expect((await indexDefs(db))['ix_audit_logs_created_at']).toBe(
      'CREATE INDEX ix_audit_logs_created_at ON public.audit_logs USING btree (created_at)',
    );

    expect((await runCli(['downgrade', 'base'], { DATABASE_URL: url })).code).toBe(0);
    expect(await tableNames(db)).toEqual(['alembic_version', 'revisor_history']);
    expect(await foreignKeys(db)).toEqual([]);
    expect(
      Object.keys(await indexDefs(db)).filter((n) => !n.startsWith('alembic') && !n.startsWith('revisor')),
    ).toEqual([]);
  });
});
