import { sqlMigration } from './cli.js';

/** A TypeScript revision (op API) that drops users.email and adds it back on the way down. */
export const dropEmailModule = `import { column, defineMigration, sa } from 'revisor';

export default defineMigration({
  revision: 'drop0002',
  downRevision: 'base0001',
  message: 'drop users.email',
  upgrade(op) {
    op.dropColumn('users', 'email');
  },
  downgrade(op) {
    op.addColumn('users', column('email', sa.Text()));
  },
});
`;

/** expand01 adds the new column (pre-deploy); contract drops the old one (post-deploy). */
export const expandContractChain = (): Record<string, string> => ({
  '1.sql': sqlMigration('expand01', null, 'CREATE TABLE t (old_name text, new_name text);', 'DROP TABLE t;'),
  '2.sql': sqlMigration(
    'contract',
    'expand01',
    'ALTER TABLE t DROP COLUMN old_name;',
    'ALTER TABLE t ADD COLUMN old_name text;',
  ).replace('-- migrate:upgrade', '-- phase: post-deploy\n-- migrate:upgrade'),
});
