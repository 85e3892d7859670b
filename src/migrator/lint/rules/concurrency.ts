import { isCreated, type RuleDefinition } from '../rule.js';
import { child, hasOption, type Node, tableName } from '../tree.js';
import { existingAlters } from './existing.js';

/** Rules about index builds and table-wide commands that should run CONCURRENTLY, or not in a migration. */
export const concurrencyRules = {
  'create-index-non-concurrent': {
    severity: 'error',
    firesOn: 'CREATE INDEX without CONCURRENTLY on a table that already exists',
    why: 'the build holds a SHARE lock: every INSERT, UPDATE and DELETE on the table waits until it ends',
    advice: 'CREATE INDEX CONCURRENTLY in a migration with transactional: false',
    aka: ['squawk require-concurrent-index-creation', 'strong_migrations add_index'],
    check(stmt, ctx) {
      const index = child(stmt, 'IndexStmt');
      if (!index || index['concurrent']) return [];
      const table = tableName(index['relation']);
      if (isCreated(ctx, table)) return [];
      return [
        {
          message: `CREATE INDEX on existing table ${table} blocks its writes while it builds`,
          cost: { table, work: 'build', lock: 'SHARE' },
        },
      ];
    },
  },
  'drop-index-non-concurrent': {
    severity: 'warning',
    firesOn: 'DROP INDEX without CONCURRENTLY',
    why: "it takes an ACCESS EXCLUSIVE lock on the index's table: queued behind a long query, it blocks every query after it",
    advice: 'DROP INDEX CONCURRENTLY in a migration with transactional: false',
    aka: ['squawk require-concurrent-index-deletion', 'strong_migrations remove_index'],
    check(stmt) {
      const drop = child(stmt, 'DropStmt');
      if (drop?.['removeType'] !== 'OBJECT_INDEX' || drop['concurrent']) return [];
      return [{ message: 'DROP INDEX without CONCURRENTLY locks its table against every query' }];
    },
  },
  'reindex-non-concurrent': {
    severity: 'warning',
    firesOn: 'REINDEX without CONCURRENTLY',
    why: 'it locks out writes to the table (and reads that use the index) while it rebuilds',
    advice: 'REINDEX ... CONCURRENTLY in a migration with transactional: false',
    aka: ['squawk require-concurrent-reindex'],
    check(stmt) {
      const reindex = child(stmt, 'ReindexStmt');
      if (!reindex || hasOption(reindex, 'params', 'concurrently')) return [];
      return [
        { message: `REINDEX of ${tableName(reindex['relation'])} without CONCURRENTLY blocks its writes` },
      ];
    },
  },
  'detach-partition-non-concurrent': {
    severity: 'warning',
    firesOn: 'ALTER TABLE … DETACH PARTITION without CONCURRENTLY',
    why: 'it takes an ACCESS EXCLUSIVE lock on the parent table',
    advice: 'DETACH PARTITION … CONCURRENTLY (PostgreSQL 14+) in a migration with transactional: false',
    aka: ['squawk require-concurrent-partition-detach'],
    check(stmt, ctx) {
      return existingAlters(stmt, ctx)
        .filter(({ cmd }) => cmd['subtype'] === 'AT_DetachPartition')
        .filter(({ cmd }) => !child(cmd['def'], 'PartitionCmd')?.['concurrent'])
        .map(({ table }) => ({ message: `DETACH PARTITION locks ${table} against every query` }));
    },
  },
  'concurrently-in-transaction': {
    severity: 'error',
    firesOn: 'CREATE/DROP INDEX CONCURRENTLY or REINDEX CONCURRENTLY in a transactional migration',
    why: 'PostgreSQL refuses CONCURRENTLY inside a transaction block: the migration fails',
    advice: 'mark the migration transactional: false',
    aka: ['squawk ban-concurrent-index-creation-in-transaction'],
    check(stmt, ctx) {
      if (!ctx.transactional) return [];
      const index = child(stmt, 'IndexStmt');
      if (index?.['concurrent'])
        return [
          { message: `CREATE INDEX CONCURRENTLY on ${tableName(index['relation'])} inside a transaction` },
        ];
      const drop = child(stmt, 'DropStmt');
      if (drop?.['removeType'] === 'OBJECT_INDEX' && drop['concurrent'])
        return [{ message: 'DROP INDEX CONCURRENTLY inside a transaction' }];
      const reindex = child(stmt, 'ReindexStmt');
      if (reindex && hasOption(reindex, 'params', 'concurrently'))
        return [{ message: 'REINDEX CONCURRENTLY inside a transaction' }];
      return [];
    },
  },
  'vacuum-full-or-cluster': {
    severity: 'error',
    firesOn: 'VACUUM FULL or CLUSTER',
    why: 'both rewrite the table under an ACCESS EXCLUSIVE lock for as long as the copy takes',
    advice: 'run pg_repack (or pg_squeeze) outside the migration; they rewrite without the long lock',
    aka: ['squawk prefer-repack'],
    check(stmt) {
      const vacuum = child(stmt, 'VacuumStmt');
      const cluster = child(stmt, 'ClusterStmt');
      if (vacuum?.['is_vacuumcmd'] && hasOption(vacuum, 'options', 'full')) {
        const rels = ((vacuum['rels'] as Node[] | undefined) ?? []).map((r) =>
          tableName(child(child(r, 'VacuumRelation'), 'relation')),
        );
        return rels.length > 0
          ? rels.map((table) => ({
              message: `VACUUM FULL rewrites ${table} under lock`,
              cost: { table, work: 'rewrite' as const, lock: 'ACCESS EXCLUSIVE' as const },
            }))
          : [{ message: 'VACUUM FULL rewrites every table of the database under lock' }];
      }
      if (cluster) {
        const table = tableName(cluster['relation']);
        return [
          {
            message: `CLUSTER rewrites ${table} under lock`,
            cost: { table, work: 'rewrite', lock: 'ACCESS EXCLUSIVE' },
          },
        ];
      }
      return [];
    },
  },
} satisfies Record<string, RuleDefinition>;
