import { check, column, defineMigration, foreignKey, primaryKey, sa, sql } from '../src/authoring.js';

const now = sql('now()');
const created = () =>
  column('created_at', sa.DateTime({ timezone: true }), { nullable: false, serverDefault: now });
const id = () => column('id', sa.UUID(), { nullable: false });

const sessionColumns = [
  column('include_partial_messages', sa.Boolean(), { nullable: false, serverDefault: false }),
  column('max_retries', sa.Integer(), { nullable: false, serverDefault: 3 }),
  column('retry_delay', sa.Float(), { nullable: false, serverDefault: 2.0 }),
  column('timeout_seconds', sa.Integer(), { nullable: false, serverDefault: 3600 }),
  column('hooks_enabled', sa.JSONB()),
  column('permission_mode', sa.String(50), { nullable: false, serverDefault: 'default' }),
  column('custom_policies', sa.JSONB()),
  column('total_hook_executions', sa.Integer(), { nullable: false, serverDefault: 0 }),
  column('total_permission_checks', sa.Integer(), { nullable: false, serverDefault: 0 }),
  column('total_errors', sa.Integer(), { nullable: false, serverDefault: 0 }),
  column('total_retries', sa.Integer(), { nullable: false, serverDefault: 0 }),
  column('archive_id', sa.UUID()),
];

export default defineMigration({
  revision: 'c0b7d0e366e7',
  downRevision: '567cc0f251e5',
  message: 'phase1 claude sdk v2 foundation',
  createDate: '2025-10-19 00:58:00',
  lintWaivers: {
    'add-check-validated':
      "sessions.permission_mode is added in this revision with DEFAULT 'default', which the check accepts: the scan cannot fail",
    'add-foreign-key-validated':
      'sessions.archive_id and messages.parent_message_id are added in this revision, so every row is NULL and the ' +
      'validation has nothing to check',
  },
  upgrade(op) {
    op.createTable(
      'working_directory_archives',
      id(),
      column('session_id', sa.UUID(), { nullable: false }),
      column('archive_path', sa.Text(), { nullable: false }),
      column('storage_backend', sa.String(50), { nullable: false }),
      column('compression_type', sa.String(20), { nullable: false, serverDefault: 'tar.gz' }),
      column('size_bytes', sa.BigInteger(), { nullable: false, serverDefault: 0 }),
      column('status', sa.String(50), { nullable: false, serverDefault: 'pending' }),
      column('error_message', sa.Text()),
      column('metadata', sa.JSONB()),
      created(),
      column('completed_at', sa.DateTime({ timezone: true })),
      check("status IN ('pending', 'in_progress', 'completed', 'failed')"),
      check("storage_backend IN ('s3', 'filesystem')"),
      check('size_bytes >= 0'),
      check("compression_type IN ('tar.gz', 'zip', 'none')"),
      foreignKey(['session_id'], 'sessions', ['id'], { ondelete: 'CASCADE' }),
      primaryKey(['id']),
    );
    op.createIndex('idx_archives_session_created', 'working_directory_archives', [
      'session_id',
      'created_at',
    ]);
    op.createIndex('idx_archives_status_created', 'working_directory_archives', ['status', 'created_at']);

    op.createTable(
      'session_metrics_snapshots',
      id(),
      column('session_id', sa.UUID(), { nullable: false }),
      column('snapshot_type', sa.String(50), { nullable: false }),
      column('total_messages', sa.Integer(), { nullable: false, serverDefault: 0 }),
      column('total_tool_calls', sa.Integer(), { nullable: false, serverDefault: 0 }),
      column('total_errors', sa.Integer(), { nullable: false, serverDefault: 0 }),
      column('total_retries', sa.Integer(), { nullable: false, serverDefault: 0 }),
      column('input_tokens', sa.BigInteger(), { nullable: false, serverDefault: 0 }),
      column('output_tokens', sa.BigInteger(), { nullable: false, serverDefault: 0 }),
      column('cache_creation_tokens', sa.BigInteger(), { nullable: false, serverDefault: 0 }),
      column('cache_read_tokens', sa.BigInteger(), { nullable: false, serverDefault: 0 }),
      column('total_cost_usd', sa.Numeric(10, 6), { nullable: false, serverDefault: 0 }),
      column('total_hook_executions', sa.Integer(), { nullable: false, serverDefault: 0 }),
      column('total_permission_checks', sa.Integer(), { nullable: false, serverDefault: 0 }),
      column('metrics_data', sa.JSONB()),
      created(),
      check("snapshot_type IN ('periodic', 'final', 'on_demand', 'error')"),
      foreignKey(['session_id'], 'sessions', ['id'], { ondelete: 'CASCADE' }),
      primaryKey(['id']),
    );
    op.createIndex('idx_metrics_session_created', 'session_metrics_snapshots', ['session_id', 'created_at']);
    op.createIndex('idx_metrics_type_created', 'session_metrics_snapshots', ['snapshot_type', 'created_at']);

    op.createTable(
      'hook_executions',
      id(),
      column('session_id', sa.UUID(), { nullable: false }),
      column('tool_call_id', sa.UUID()),
      column('hook_name', sa.String(255), { nullable: false }),
      column('tool_use_id', sa.String(255)),
      column('tool_name', sa.String(255)),
      column('input_data', sa.JSONB()),
      column('output_data', sa.JSONB()),
      column('context_data', sa.JSONB()),
      column('execution_time_ms', sa.Integer()),
      column('error_message', sa.Text()),
      created(),
      check('execution_time_ms >= 0'),
      foreignKey(['session_id'], 'sessions', ['id'], { ondelete: 'CASCADE' }),
      foreignKey(['tool_call_id'], 'tool_calls', ['id'], { ondelete: 'SET NULL' }),
      primaryKey(['id']),
    );
    op.createIndex('idx_hook_executions_session_created', 'hook_executions', ['session_id', 'created_at']);
    op.createIndex('idx_hook_executions_input_data', 'hook_executions', ['input_data'], { using: 'gin' });
    op.createIndex('idx_hook_executions_output_data', 'hook_executions', ['output_data'], { using: 'gin' });

    op.createTable(
      'permission_decisions',
      id(),
      column('session_id', sa.UUID(), { nullable: false }),
      column('tool_call_id', sa.UUID()),
      column('tool_use_id', sa.String(255)),
      column('tool_name', sa.String(255), { nullable: false }),
      column('input_data', sa.JSONB()),
      column('context_data', sa.JSONB()),
      column('decision', sa.String(20), { nullable: false }),
      column('reason', sa.Text()),
      column('policy_applied', sa.String(255)),
      created(),
      check("decision IN ('allow', 'deny', 'ask')"),
      foreignKey(['session_id'], 'sessions', ['id'], { ondelete: 'CASCADE' }),
      foreignKey(['tool_call_id'], 'tool_calls', ['id'], { ondelete: 'SET NULL' }),
      primaryKey(['id']),
    );
    op.createIndex('idx_permission_decisions_session_created', 'permission_decisions', [
      'session_id',
      'created_at',
    ]);
    op.createIndex('idx_permission_decisions_input_data', 'permission_decisions', ['input_data'], {
      using: 'gin',
    });

    // template_id already exists since 567cc0f251e5; this revision adds the archive reference.
    for (const col of sessionColumns) op.addColumn('sessions', col);
    op.createCheckConstraint(
      null,
      'sessions',
      "permission_mode IN ('default', 'acceptEdits', 'bypassPermissions', 'plan')",
    );
    op.createForeignKey(null, 'sessions', 'working_directory_archives', ['archive_id'], ['id'], {
      ondelete: 'SET NULL',
    });

    op.addColumn('messages', column('is_partial', sa.Boolean(), { nullable: false, serverDefault: false }));
    op.addColumn('messages', column('parent_message_id', sa.UUID()));
    op.addColumn('messages', column('thinking_content', sa.Text()));
    // Partial (streamed) messages point at the message they complete.
    op.createForeignKey(null, 'messages', 'messages', ['parent_message_id'], ['id'], { ondelete: 'CASCADE' });

    op.addColumn('tool_calls', column('retries', sa.Integer(), { nullable: false, serverDefault: 0 }));
    op.addColumn('tool_calls', column('hook_pre_data', sa.JSONB()));
    op.addColumn('tool_calls', column('hook_post_data', sa.JSONB()));
  },
  downgrade(op) {
    for (const name of ['hook_post_data', 'hook_pre_data', 'retries']) op.dropColumn('tool_calls', name);

    op.dropConstraint('fk_messages_parent_message_id_messages', 'messages');
    for (const name of ['thinking_content', 'parent_message_id', 'is_partial'])
      op.dropColumn('messages', name);

    op.dropConstraint('fk_sessions_archive_id_working_directory_archives', 'sessions');
    op.dropConstraint('ck_sessions_permission_mode', 'sessions');
    for (const col of [...sessionColumns].reverse()) op.dropColumn('sessions', col.name);

    op.dropTable('permission_decisions');
    op.dropTable('hook_executions');
    op.dropTable('session_metrics_snapshots');
    op.dropTable('working_directory_archives');
  },
});
