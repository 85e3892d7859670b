import { isCreated, type RuleDefinition } from '../rule.js';
import { alterCommands, child, dotted, list, type Node, tableName, typeOf } from '../tree.js';

/** Rules about statements that fail, mislead, or are matters of a team's taste (off by default). */

/** Every column definition a statement writes: CREATE TABLE's and ADD COLUMN's. */
function columnDefinitions(stmt: Node): { table: string; column: Node }[] {
  const create = child(stmt, 'CreateStmt');
  if (create) {
    const table = tableName(create['relation']);
    return list(create, 'tableElts')
      .map((element) => child(element, 'ColumnDef'))
      .filter((column): column is Node => column !== undefined)
      .map((column) => ({ table, column }));
  }
  const alter = child(stmt, 'AlterTableStmt');
  if (!alter) return [];
  const table = tableName(alter['relation']);
  return alterCommands(alter)
    .filter((cmd) => cmd['subtype'] === 'AT_AddColumn' || cmd['subtype'] === 'AT_AlterColumnType')
    .map((cmd) => ({ table, column: { colname: cmd['name'], ...(child(cmd['def'], 'ColumnDef') ?? {}) } }));
}

function columnTypeRule(
  matches: (type: string, column: Node) => boolean,
  message: (column: string, type: string) => string,
): RuleDefinition['check'] {
  return (stmt) =>
    columnDefinitions(stmt)
      .filter(({ column }) => matches(typeOf(column), column))
      .map(({ table, column }) => ({
        message: message(`${table}.${String(column['colname'])}`, typeOf(column)),
      }));
}

/**
 * Names longer than PostgreSQL's 63 bytes, which it truncates silently (the parse tree
 * already holds the truncated name, so this reads the text): identifiers, plain or
 * double-quoted, outside string literals and comments.
 */
function longIdentifiers(sql: string): string[] {
  const code = sql.replace(/'(?:[^']|'')*'|--[^\n]*|\/\*[\s\S]*?\*\//g, ' ');
  return [...code.matchAll(/"((?:[^"]|"")+)"|\b([A-Za-z_][A-Za-z0-9_$]*)/g)]
    .map((m) => m[1] ?? m[2] ?? '')
    .filter((name) => Buffer.byteLength(name) > 63);
}

export const hygieneRules = {
  'transaction-control': {
    severity: 'error',
    firesOn: 'BEGIN, COMMIT, ROLLBACK, SAVEPOINT or END in a migration',
    why: 'revisor runs each revision in its own transaction with its version row: a COMMIT inside ends it early, a BEGIN nests nothing',
    advice: 'remove it; mark the revision transactional: false if a statement cannot run in a transaction',
    aka: ['squawk ban-uncommitted-transaction', 'squawk transaction-nesting'],
    check(stmt) {
      const transaction = child(stmt, 'TransactionStmt');
      return transaction
        ? [{ message: `${String(transaction['kind']).replace('TRANS_STMT_', '')} inside a migration` }]
        : [];
    },
  },
  'duplicate-column-assignment': {
    severity: 'error',
    firesOn: 'an UPDATE assigning the same column twice',
    why: 'PostgreSQL refuses it when the migration runs ("multiple assignments to same column")',
    advice: 'assign each column once',
    aka: ['squawk ban-duplicate-column-assignments'],
    check(stmt) {
      const update = child(stmt, 'UpdateStmt');
      if (!update) return [];
      const names = list(update, 'targetList').map((t) => String(child(t, 'ResTarget')?.['name']));
      const twice = [...new Set(names.filter((name, i) => names.indexOf(name) !== i))];
      return twice.map((name) => ({
        message: `UPDATE of ${tableName(update['relation'])} assigns ${name} twice`,
      }));
    },
  },
  'identifier-too-long': {
    severity: 'error',
    firesOn: 'a table, column, index, constraint or trigger name longer than 63 bytes',
    why: 'PostgreSQL truncates it silently: the object gets another name than the one the code and later migrations use',
    advice: 'choose a name of at most 63 bytes',
    aka: ['squawk identifier-too-long'],
    check(_stmt, ctx) {
      return longIdentifiers(ctx.text).map((name) => ({
        message: `${name.slice(0, 40)}… is ${Buffer.byteLength(name)} bytes; PostgreSQL keeps 63`,
      }));
    },
  },
  'add-column-json': {
    severity: 'warning',
    firesOn: 'a column of type json (not jsonb)',
    why: 'json has no equality operator: SELECT DISTINCT, UNION and GROUP BY over the table fail',
    advice: 'use jsonb',
    aka: ['strong_migrations add_column_json'],
    check: columnTypeRule(
      (type) => type === 'json',
      (column) => `${column} is json, which has no equality operator`,
    ),
  },
  'prefer-text': {
    severity: 'warning',
    taste: true,
    firesOn: 'a varchar(n) or char(n) column',
    why: 'widening a length limit later is a migration; char(n) pads with spaces; text with a CHECK is as fast',
    advice: 'use text, with a CHECK (length(col) <= n) constraint where the limit matters',
    aka: ['squawk prefer-text-field', 'squawk ban-char-field'],
    check: columnTypeRule(
      (type, column) =>
        (type === 'varchar' || type === 'bpchar') && list(child(column, 'typeName'), 'typmods').length > 0,
      (column, type) => `${column} is ${type === 'bpchar' ? 'char' : type}(n)`,
    ),
  },
  'prefer-timestamptz': {
    severity: 'warning',
    taste: true,
    firesOn: 'a timestamp (without time zone) column',
    why: 'it stores wall-clock times without their zone: comparisons across zones and DST changes go wrong',
    advice: 'use timestamptz',
    aka: ['squawk prefer-timestamptz'],
    check: columnTypeRule(
      (type) => type === 'timestamp',
      (column) => `${column} is timestamp without time zone`,
    ),
  },
  'prefer-bigint': {
    severity: 'warning',
    taste: true,
    firesOn: 'an integer or smallint column',
    why: 'ids and counters outgrow 32 bits, and changing the type later rewrites the table',
    advice: 'use bigint',
    aka: ['squawk prefer-bigint-over-int', 'squawk prefer-bigint-over-smallint'],
    check: columnTypeRule(
      (type) => type === 'int4' || type === 'int2' || type === 'serial' || type === 'smallserial',
      (column, type) => `${column} is ${type}`,
    ),
  },
  'prefer-identity': {
    severity: 'warning',
    taste: true,
    firesOn: 'a serial, bigserial or smallserial column',
    why: 'serial is a sequence with loose ownership and permissions; identity columns are the SQL standard',
    advice: 'use bigint GENERATED ALWAYS AS IDENTITY',
    aka: ['squawk prefer-identity'],
    check: columnTypeRule(
      (type) => /^(small|big)?serial[248]?$/.test(type),
      (column, type) => `${column} is ${type}`,
    ),
  },
  'create-domain-with-constraint': {
    severity: 'warning',
    taste: true,
    firesOn: 'CREATE DOMAIN with a CHECK constraint',
    why: 'changing the check later validates every table using the domain at once',
    advice: 'put the CHECK on the tables, where it can be added NOT VALID',
    aka: ['squawk ban-create-domain-with-constraint'],
    check(stmt) {
      const create = child(stmt, 'CreateDomainStmt');
      if (!create) return [];
      const checks = list(create, 'constraints').filter(
        (c) => child(c, 'Constraint')?.['contype'] === 'CONSTR_CHECK',
      );
      return checks.length > 0 ? [{ message: `domain ${dotted(create['domainname'])} carries a CHECK` }] : [];
    },
  },
  'index-too-many-columns': {
    severity: 'warning',
    taste: true,
    firesOn: 'an index on more than three columns',
    why: 'wide indexes are large and slow to write, and the later columns rarely help a query',
    advice: 'index the columns queries filter on first; cover others with INCLUDE',
    aka: ['strong_migrations add_index with more than 3 columns'],
    check(stmt) {
      const index = child(stmt, 'IndexStmt');
      const columns = list(index, 'indexParams').length;
      return index && columns > 3
        ? [{ message: `index on ${tableName(index['relation'])} has ${columns} columns` }]
        : [];
    },
  },
  'enum-value-without-position': {
    severity: 'warning',
    taste: true,
    firesOn: 'ALTER TYPE … ADD VALUE without BEFORE or AFTER',
    why: 'the value goes last, which decides ORDER BY and comparisons on the enum, perhaps not as intended',
    advice: "say where it goes: ADD VALUE 'x' BEFORE 'y' (or AFTER)",
    aka: ['squawk require-enum-value-ordering'],
    check(stmt) {
      const alter = child(stmt, 'AlterEnumStmt');
      return alter && !alter['oldVal'] && !alter['newValNeighbor']
        ? [{ message: `value ${String(alter['newVal'])} goes last in enum ${dotted(alter['typeName'])}` }]
        : [];
    },
  },
  'require-schema-qualified': {
    severity: 'warning',
    taste: true,
    firesOn: 'CREATE TABLE or ALTER TABLE naming a table without its schema',
    why: 'the table lands in whatever schema search_path names first when the migration runs',
    advice: 'name the schema: public.orders',
    aka: ['squawk require-table-schema'],
    check(stmt, ctx) {
      const relation =
        child(child(stmt, 'CreateStmt'), 'relation') ?? child(child(stmt, 'AlterTableStmt'), 'relation');
      if (!relation || relation['schemaname']) return [];
      const table = tableName(relation);
      return isCreated(ctx, table) && !child(stmt, 'CreateStmt')
        ? []
        : [{ message: `${table} has no schema: it resolves through search_path` }];
    },
  },
  'prefer-robust-stmts': {
    severity: 'warning',
    taste: true,
    firesOn: 'in a non-transactional revision, CREATE without IF NOT EXISTS or DROP without IF EXISTS',
    why: 'a non-transactional revision interrupted half way runs again from its first statement, which then fails',
    advice: 'CREATE … IF NOT EXISTS, DROP … IF EXISTS',
    aka: ['squawk prefer-robust-stmts'],
    check(stmt, ctx) {
      if (ctx.transactional) return [];
      const index = child(stmt, 'IndexStmt');
      if (index && !index['if_not_exists'])
        return [{ message: `CREATE INDEX ${String(index['idxname'])} without IF NOT EXISTS` }];
      const create = child(stmt, 'CreateStmt');
      if (create && !create['if_not_exists'])
        return [{ message: `CREATE TABLE ${tableName(create['relation'])} without IF NOT EXISTS` }];
      const drop = child(stmt, 'DropStmt');
      if (drop && !drop['missing_ok']) return [{ message: 'DROP without IF EXISTS' }];
      return [];
    },
  },
} satisfies Record<string, RuleDefinition>;
