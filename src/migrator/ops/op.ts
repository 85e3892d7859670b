import { restoreColumn, restoreTable, stashColumn, stashTable } from '../sql/stash-sql.js';
import { type BackfillOptions, backfill } from './backfill.js';
import * as constraints from './constraint-ops.js';
import * as data from './data-ops.js';
import type { Column, ForeignKeyOptions, TableElement } from './elements.js';
import * as indexes from './index-ops.js';
import * as schemaObjects from './schema-ops.js';
import type { Statement } from './statement.js';
import * as tables from './table-ops.js';

/** Which revision and direction an Op renders, and whether it stashes. */
export interface StashContext {
  readonly revision: string;
  readonly direction: 'upgrade' | 'downgrade';
  readonly stash: boolean;
}

type Params<F> = F extends (...args: infer P) => unknown ? P : never;

/**
 * What a TypeScript migration's upgrade()/downgrade() receives. Each method renders
 * its statement with a pure function of ./*-ops.ts and records it; nothing touches
 * the database here, so `revisor sql`, checksums and lint see exactly what runs.
 */
export class Op {
  readonly #statements: Statement[] = [];
  readonly #stash: StashContext | null;

  /**
   * With a context (the loader gives one), destructive upgrade ops first stash what they
   * destroy, and the downgrade ops that re-create it restore it (sql/stash-sql.ts).
   */
  constructor(context?: StashContext) {
    this.#stash = context?.stash ? context : null;
  }

  /** Stash before an upgrade step destroys; restore after a downgrade step re-creates. */
  #around(statements: readonly Statement[], before: Statement | null, after: Statement | null): this {
    const up = this.#stash?.direction === 'upgrade';
    const down = this.#stash?.direction === 'downgrade';
    return this.#add(...(up && before ? [before] : []), ...statements, ...(down && after ? [after] : []));
  }

  get statements(): readonly Statement[] {
    return this.#statements;
  }

  #add(...statements: Statement[]): this {
    // An Error captures the stack cheaply; it is formatted only if lint asks for a line.
    const site = new Error('op call');
    for (const statement of statements) {
      if (statement.line === undefined && !statement.site)
        Object.defineProperty(statement, 'site', { value: site, enumerable: false });
      this.#statements.push(statement);
    }
    return this;
  }

  createTable(name: string, ...elements: (TableElement | tables.TableOptions)[]): this {
    const isElement = (e: TableElement | tables.TableOptions): e is TableElement => 'kind' in e;
    const options = elements.find((e) => !isElement(e)) as tables.TableOptions | undefined;
    const rev = this.#stash?.revision ?? '';
    return this.#around(
      [tables.createTable(name, elements.filter(isElement), options)],
      null,
      restoreTable(options?.schema, name, rev),
    );
  }
  dropTable(name: string, options: tables.DropOptions = {}) {
    const rev = this.#stash?.revision ?? '';
    // The stash moves the table aside; DROP … IF EXISTS then finds nothing (offline SQL still reads right).
    const drop =
      this.#stash?.direction === 'upgrade'
        ? tables.dropTable(name, { ...options, ifExists: true })
        : tables.dropTable(name, options);
    return this.#around([drop], stashTable(options.schema, name, rev, options.cascade ?? false), null);
  }
  renameTable(...args: Params<typeof tables.renameTable>) {
    return this.#add(tables.renameTable(...args));
  }
  addColumn(table: string, column: Column, options?: { schema?: string; ifNotExists?: boolean }) {
    const rev = this.#stash?.revision ?? '';
    return this.#around(
      [tables.addColumn(table, column, options)],
      null,
      restoreColumn(options?.schema, table, column.name, rev),
    );
  }
  dropColumn(table: string, name: string, options: tables.DropOptions = {}) {
    const rev = this.#stash?.revision ?? '';
    return this.#around(
      [tables.dropColumn(table, name, options)],
      stashColumn(options.schema, table, name, rev, false),
      null,
    );
  }
  alterColumn(table: string, name: string, options: tables.AlterColumnOptions) {
    const rev = this.#stash?.revision ?? '';
    // A type change may narrow or lose values: they are copied before, and put back after the way back.
    const typed = options.type !== undefined;
    return this.#around(
      tables.alterColumn(table, name, options),
      typed ? stashColumn(options.schema, table, name, rev, true) : null,
      typed ? restoreColumn(options.schema, table, options.newName ?? name, rev) : null,
    );
  }
  createIndex(...args: Params<typeof indexes.createIndex>) {
    return this.#add(indexes.createIndex(...args));
  }
  dropIndex(...args: Params<typeof indexes.dropIndex>) {
    return this.#add(indexes.dropIndex(...args));
  }
  createForeignKey(
    name: string | null,
    table: string,
    referent: string,
    columns: readonly string[],
    referentColumns: readonly string[],
    options?: ForeignKeyOptions & constraints.AddConstraintOptions,
  ) {
    return this.#add(constraints.createForeignKey(name, table, referent, columns, referentColumns, options));
  }
  createUniqueConstraint(...args: Params<typeof constraints.createUniqueConstraint>) {
    return this.#add(constraints.createUniqueConstraint(...args));
  }
  createCheckConstraint(...args: Params<typeof constraints.createCheckConstraint>) {
    return this.#add(constraints.createCheckConstraint(...args));
  }
  createPrimaryKey(...args: Params<typeof constraints.createPrimaryKey>) {
    return this.#add(constraints.createPrimaryKey(...args));
  }
  dropConstraint(...args: Params<typeof constraints.dropConstraint>) {
    return this.#add(constraints.dropConstraint(...args));
  }
  validateConstraint(...args: Params<typeof constraints.validateConstraint>) {
    return this.#add(constraints.validateConstraint(...args));
  }
  createSchema(...args: Params<typeof schemaObjects.createSchema>) {
    return this.#add(schemaObjects.createSchema(...args));
  }
  dropSchema(...args: Params<typeof schemaObjects.dropSchema>) {
    return this.#add(schemaObjects.dropSchema(...args));
  }
  createExtension(...args: Params<typeof schemaObjects.createExtension>) {
    return this.#add(schemaObjects.createExtension(...args));
  }
  dropExtension(...args: Params<typeof schemaObjects.dropExtension>) {
    return this.#add(schemaObjects.dropExtension(...args));
  }
  createEnum(...args: Params<typeof schemaObjects.createEnum>) {
    return this.#add(schemaObjects.createEnum(...args));
  }
  dropEnum(...args: Params<typeof schemaObjects.dropEnum>) {
    return this.#add(schemaObjects.dropEnum(...args));
  }
  /** Raw SQL; values go in `params` as $1, $2, … never into the text. */
  execute(sql: string, params?: readonly unknown[]) {
    return this.#add(params?.length ? { sql, params } : { sql });
  }
  /** A data migration in key-ordered batches of their own transactions; needs transactional: false. */
  backfill(options: BackfillOptions) {
    return this.#add(backfill(options));
  }
  bulkInsert(...args: Params<typeof data.bulkInsert>) {
    return this.#add(data.bulkInsert(...args));
  }
  update(...args: Params<typeof data.update>) {
    return this.#add(data.update(...args));
  }
  delete(...args: Params<typeof data.deleteRows>) {
    return this.#add(data.deleteRows(...args));
  }
}
