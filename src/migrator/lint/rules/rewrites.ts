import { isCreated, type RuleDefinition } from '../rule.js';
import { calledFunctions, child, constraintsOf, tableName, typeOf } from '../tree.js';
import { addedColumns, addedConstraints, existingAlters, volatileFunctions } from './existing.js';

/** Rules about constraints and column changes that read or rewrite a whole table under lock. */
export const rewriteRules = {
  'add-foreign-key-validated': {
    severity: 'error',
    firesOn: 'a FOREIGN KEY added to an existing table without NOT VALID',
    why: 'it checks every row while holding a SHARE ROW EXCLUSIVE lock on both tables: their writes wait',
    advice: 'add it NOT VALID, then VALIDATE CONSTRAINT in a later migration',
    aka: [
      'squawk adding-foreign-key-constraint',
      'squawk constraint-missing-not-valid',
      'strong_migrations add_foreign_key',
    ],
    check(stmt, ctx) {
      return addedConstraints(stmt, ctx)
        .filter(
          ({ constraint }) => constraint['contype'] === 'CONSTR_FOREIGN' && !constraint['skip_validation'],
        )
        .map(({ table }) => ({
          message: `foreign key on existing table ${table} validates every row under lock`,
          cost: { table, work: 'scan', lock: 'SHARE ROW EXCLUSIVE' },
        }));
    },
  },
  'add-check-validated': {
    severity: 'error',
    firesOn: 'a CHECK constraint added to an existing table without NOT VALID',
    why: 'it reads every row under an ACCESS EXCLUSIVE lock: every query on the table waits',
    advice: 'add it NOT VALID, then VALIDATE CONSTRAINT in a later migration',
    aka: ['squawk constraint-missing-not-valid', 'strong_migrations add_check_constraint'],
    check(stmt, ctx) {
      return addedConstraints(stmt, ctx)
        .filter(
          ({ constraint }) => constraint['contype'] === 'CONSTR_CHECK' && !constraint['skip_validation'],
        )
        .map(({ table }) => ({
          message: `check constraint on existing table ${table} scans every row under lock`,
          cost: { table, work: 'scan', lock: 'ACCESS EXCLUSIVE' },
        }));
    },
  },
  'add-unique-constraint': {
    severity: 'error',
    firesOn: 'a UNIQUE or PRIMARY KEY constraint added to an existing table without USING INDEX',
    why: 'it builds the index under an ACCESS EXCLUSIVE lock: every query on the table waits',
    advice:
      'CREATE UNIQUE INDEX CONCURRENTLY (transactional: false), then ADD CONSTRAINT … UNIQUE (or PRIMARY KEY) USING INDEX',
    aka: [
      'squawk disallowed-unique-constraint',
      'squawk adding-serial-primary-key-field',
      'strong_migrations add_unique_constraint',
    ],
    check(stmt, ctx) {
      return addedConstraints(stmt, ctx)
        .filter(
          ({ constraint }) =>
            (constraint['contype'] === 'CONSTR_UNIQUE' || constraint['contype'] === 'CONSTR_PRIMARY') &&
            !constraint['indexname'],
        )
        .map(({ table, constraint }) => ({
          message: `${constraint['contype'] === 'CONSTR_PRIMARY' ? 'PRIMARY KEY' : 'UNIQUE'} on existing table ${table} builds its index under lock`,
          cost: { table, work: 'build', lock: 'ACCESS EXCLUSIVE' },
        }));
    },
  },
  'add-exclusion-constraint': {
    severity: 'error',
    firesOn: 'an EXCLUDE constraint added to an existing table',
    why: 'it builds its index and checks every row under an ACCESS EXCLUSIVE lock, and cannot be added NOT VALID',
    advice: 'add it while the table is new or small, or enforce the rule in the application first',
    aka: ['strong_migrations add_exclusion_constraint'],
    check(stmt, ctx) {
      return addedConstraints(stmt, ctx)
        .filter(({ constraint }) => constraint['contype'] === 'CONSTR_EXCLUSION')
        .map(({ table }) => ({
          message: `EXCLUDE constraint on existing table ${table} checks every row under lock`,
          cost: { table, work: 'build', lock: 'ACCESS EXCLUSIVE' },
        }));
    },
  },
  'set-not-null': {
    severity: 'error',
    firesOn: 'ALTER COLUMN … SET NOT NULL on an existing table',
    why: 'it reads every row under an ACCESS EXCLUSIVE lock to prove none is NULL',
    advice:
      'ADD CONSTRAINT … CHECK (col IS NOT NULL) NOT VALID, VALIDATE CONSTRAINT in a later migration, then SET NOT NULL (PostgreSQL 12+ uses the check and skips the scan)',
    aka: ['squawk adding-not-nullable-field', 'strong_migrations change_column_null'],
    check(stmt, ctx) {
      return existingAlters(stmt, ctx)
        .filter(({ cmd }) => cmd['subtype'] === 'AT_SetNotNull')
        .map(({ table, cmd }) => ({
          message: `SET NOT NULL on ${table}.${String(cmd['name'])} scans every row under lock`,
          cost: { table, work: 'scan', lock: 'ACCESS EXCLUSIVE' },
        }));
    },
  },
  'alter-column-type': {
    severity: 'error',
    firesOn: 'ALTER COLUMN … TYPE on an existing table',
    why: 'most type changes rewrite the table and rebuild its indexes under an ACCESS EXCLUSIVE lock',
    advice: 'add a new column, backfill, switch readers, then drop the old one',
    aka: ['squawk changing-column-type', 'strong_migrations change_column'],
    check(stmt, ctx) {
      return existingAlters(stmt, ctx)
        .filter(({ cmd }) => cmd['subtype'] === 'AT_AlterColumnType')
        .map(({ table, cmd }) => ({
          message: `changing the type of ${table}.${String(cmd['name'])} rewrites the table under an ACCESS EXCLUSIVE lock`,
          cost: { table, work: 'rewrite', lock: 'ACCESS EXCLUSIVE' },
        }));
    },
  },
  'add-column-volatile-default': {
    severity: 'error',
    firesOn:
      'ADD COLUMN with a DEFAULT that calls a volatile function (random(), gen_random_uuid(), clock_timestamp(), nextval())',
    why: 'a volatile default is computed per row: the table is rewritten under an ACCESS EXCLUSIVE lock (a constant default is not)',
    advice:
      'add the column without the default, SET DEFAULT for new rows, then backfill existing rows in batches (op.backfill)',
    aka: ['squawk adding-field-with-default', 'strong_migrations add_column_default'],
    check(stmt, ctx) {
      return addedColumns(stmt, ctx).flatMap(({ table, column }) => {
        const volatile = constraintsOf(column)
          .filter((c) => c['contype'] === 'CONSTR_DEFAULT')
          .flatMap((c) => calledFunctions(c['raw_expr']))
          .find((name) => volatileFunctions.has(name.replace(/^pg_catalog\./, '')));
        return volatile
          ? [
              {
                message: `${table}.${String(column['colname'])} defaults to ${volatile}(), computed per row: the table is rewritten`,
                cost: { table, work: 'rewrite', lock: 'ACCESS EXCLUSIVE' },
              },
            ]
          : [];
      });
    },
  },
  'add-column-generated-stored': {
    severity: 'error',
    firesOn: 'ADD COLUMN … GENERATED ALWAYS AS (…) STORED on an existing table',
    why: 'the stored value is computed for every row: the table is rewritten under an ACCESS EXCLUSIVE lock',
    advice:
      'add a plain column, fill it in batches and keep it current with a trigger, or compute it in a view',
    aka: ['strong_migrations add_column_generated_stored'],
    check(stmt, ctx) {
      return addedColumns(stmt, ctx)
        .filter(({ column }) => constraintsOf(column).some((c) => c['contype'] === 'CONSTR_GENERATED'))
        .map(({ table, column }) => ({
          message: `stored generated column ${table}.${String(column['colname'])} rewrites the table`,
          cost: { table, work: 'rewrite', lock: 'ACCESS EXCLUSIVE' },
        }));
    },
  },
  'add-serial-column': {
    severity: 'error',
    firesOn: 'ADD COLUMN of type serial/bigserial or GENERATED … AS IDENTITY on an existing table',
    why: 'every existing row gets its own value: the table is rewritten under an ACCESS EXCLUSIVE lock',
    advice:
      'add a nullable column with a sequence default for new rows, backfill in batches, then SET NOT NULL safely',
    aka: ['squawk adding-serial-primary-key-field'],
    check(stmt, ctx) {
      return addedColumns(stmt, ctx)
        .filter(
          ({ column }) =>
            /^(small|big)?serial[248]?$/.test(typeOf(column)) ||
            constraintsOf(column).some((c) => c['contype'] === 'CONSTR_IDENTITY'),
        )
        .map(({ table, column }) => ({
          message: `${table}.${String(column['colname'])} numbers every existing row: the table is rewritten`,
          cost: { table, work: 'rewrite', lock: 'ACCESS EXCLUSIVE' },
        }));
    },
  },
  'alter-domain-add-constraint': {
    severity: 'error',
    firesOn: 'ALTER DOMAIN … ADD CONSTRAINT without NOT VALID',
    why: 'it checks every column of every table using the domain, under lock',
    advice: 'ADD CONSTRAINT … NOT VALID, then VALIDATE CONSTRAINT in a later migration',
    aka: ['squawk ban-alter-domain-with-add-constraint'],
    check(stmt) {
      const alter = child(stmt, 'AlterDomainStmt');
      if (alter?.['subtype'] !== 'C' || child(alter['def'], 'Constraint')?.['skip_validation']) return [];
      return [{ message: 'ALTER DOMAIN ADD CONSTRAINT checks every row of every table using the domain' }];
    },
  },
  'backfill-with-ddl': {
    severity: 'warning',
    firesOn: 'an UPDATE or DELETE of a table the same transactional revision changes with DDL',
    why: "the DDL's ACCESS EXCLUSIVE lock is held until the transaction ends, so every query on the table waits for the whole backfill",
    advice: 'backfill in a revision of its own, in batches (op.backfill, transactional: false)',
    aka: ['strong_migrations backfilling in the same transaction as DDL'],
    check(stmt, ctx) {
      if (!ctx.transactional) return [];
      const write = child(stmt, 'UpdateStmt') ?? child(stmt, 'DeleteStmt');
      if (!write) return [];
      const table = tableName(write['relation']);
      if (isCreated(ctx, table) || !ctx.alteredTables.has(table)) return [];
      return [
        {
          message: `${child(stmt, 'UpdateStmt') ? 'UPDATE' : 'DELETE'} of ${table} holds this revision's DDL lock on it until the backfill ends`,
          cost: { table, work: 'scan', lock: 'ACCESS EXCLUSIVE' },
        },
      ];
    },
  },
} satisfies Record<string, RuleDefinition>;
