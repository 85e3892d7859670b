import { check, column, defineMigration, foreignKey, primaryKey, sa, sql } from '../src/authoring.js';

const now = sql('now()');

export default defineMigration({
  revision: '567cc0f251e5',
  downRevision: '972fc63ffb69',
  message: 'add session_templates table',
  createDate: '2025-10-18 03:55:00',
  lintWaivers: {
    'add-foreign-key-validated':
      'sessions.template_id is added in this same revision, so every row is NULL and the validation has nothing to check',
    'create-index-non-concurrent':
      'the audit_logs index swap must be atomic, which needs a transaction; at this revision (phase 1) sessions and ' +
      'audit_logs were small. A large deployment replaying this chain should build these indexes CONCURRENTLY first',
    'drop-index-non-concurrent':
      'the old audit_logs indexes are dropped in the same transaction that builds their replacements, so queries ' +
      'never run without one; at this revision audit_logs was small',
  },
  upgrade(op) {
    op.createTable(
      'session_templates',
      column('id', sa.UUID(), { nullable: false }),
      column('user_id', sa.UUID(), { nullable: false }),
      column('name', sa.String(255), { nullable: false }),
      column('description', sa.Text()),
      column('category', sa.String(100)),
      column('system_prompt', sa.Text()),
      column('working_directory', sa.Text()),
      column('allowed_tools', sa.ARRAY(sa.String())),
      column('sdk_options', sa.JSONB()),
      column('mcp_server_ids', sa.ARRAY(sa.UUID())),
      // Visibility: private to its owner unless public or shared with the organization.
      column('is_public', sa.Boolean(), { nullable: false, serverDefault: false }),
      column('is_organization_shared', sa.Boolean(), { nullable: false, serverDefault: false }),
      column('tags', sa.ARRAY(sa.String())),
      column('metadata', sa.JSONB()),
      // Usage stats.
      column('usage_count', sa.Integer(), { nullable: false, serverDefault: 0 }),
      column('last_used_at', sa.DateTime({ timezone: true })),
      column('created_at', sa.DateTime({ timezone: true }), { nullable: false, serverDefault: now }),
      column('updated_at', sa.DateTime({ timezone: true }), { nullable: false, serverDefault: now }),
      column('deleted_at', sa.DateTime({ timezone: true })),
      check(
        "category IN ('development', 'security', 'production', 'debugging', 'performance', 'custom') OR category IS NULL",
      ),
      check('usage_count >= 0'),
      foreignKey(['user_id'], 'users', ['id'], { ondelete: 'CASCADE' }),
      primaryKey(['id']),
    );
    op.createIndex('idx_templates_tags', 'session_templates', ['tags'], { using: 'gin' });
    // Partial indexes: listings only ever show templates that are not soft-deleted.
    op.createIndex('idx_templates_user', 'session_templates', ['user_id'], { where: 'deleted_at IS NULL' });
    op.createIndex('idx_templates_public', 'session_templates', ['category'], {
      where: 'is_public = true AND deleted_at IS NULL',
    });
    op.createIndex('idx_templates_org_shared', 'session_templates', ['user_id'], {
      where: 'is_organization_shared = true AND deleted_at IS NULL',
    });

    // A session keeps running when its template is deleted.
    op.addColumn('sessions', column('template_id', sa.UUID()));
    op.createForeignKey(
      'fk_sessions_template_id_session_templates',
      'sessions',
      'session_templates',
      ['template_id'],
      ['id'],
      {
        ondelete: 'SET NULL',
      },
    );
    op.createIndex('ix_sessions_template_id', 'sessions', ['template_id']);

    // Audit queries read newest first.
    op.dropIndex('ix_audit_logs_created_at');
    op.dropIndex('ix_audit_logs_user_created');
    op.createIndex('ix_audit_logs_created_at', 'audit_logs', [{ column: 'created_at', desc: true }]);
    op.createIndex('ix_audit_logs_user_created', 'audit_logs', [
      'user_id',
      { column: 'created_at', desc: true },
    ]);
  },
  downgrade(op) {
    op.dropIndex('ix_audit_logs_user_created');
    op.dropIndex('ix_audit_logs_created_at');
    op.createIndex('ix_audit_logs_created_at', 'audit_logs', ['created_at']);
    op.createIndex('ix_audit_logs_user_created', 'audit_logs', ['user_id', 'created_at']);

    op.dropIndex('ix_sessions_template_id');
    op.dropConstraint('fk_sessions_template_id_session_templates', 'sessions');
    op.dropColumn('sessions', 'template_id');
    op.dropTable('session_templates');
  },
});
