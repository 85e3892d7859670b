import { type BackfillOptions, backfill } from './backfill.js';
import * as constraints from './constraint-ops.js';
import * as data from './data-ops.js';
import type { Column, ForeignKeyOptions, TableElement } from './elements.js';
import * as indexes from './index-ops.js';
import * as schemaObjects from './schema-ops.js';
import type { Statement } from './statement.js';
import * as tables from './table-ops.js';

type Params<F> = F extends (...args: infer P) => unknown ? P : never;

/**
 * What a TypeScript migration's upgrade()/downgrade() receives. Each method renders
 * its statement with a pure function of ./*-ops.ts and records it; nothing touches
 * the database here, so `revisor sql`, checksums and lint see exactly what runs.
 */
export class Op {
  readonly #statements: Statement[] = [];

  get statements(): readonly Statement[] {
    return this.#statements;
  }

  #add(...statements: Statement[]): this {
    this.#statements.push(...statements);
    return this;
  }

  createTable(name: string, ...elements: (TableElement | tables.TableOptions)[]): this {
    const isElement = (e: TableElement | tables.TableOptions): e is TableElement => 'kind' in e;
    const options = elements.find((e) => !isElement(e)) as tables.TableOptions | undefined;
    return this.#add(tables.createTable(name, elements.filter(isElement), options));
  }
  dropTable(...args: Params<typeof tables.dropTable>) {
    return this.#add(tables.dropTable(...args));
  }
  renameTable(...args: Params<typeof tables.renameTable>) {
    return this.#add(tables.renameTable(...args));
  }
  addColumn(table: string, column: Column, options?: { schema?: string; ifNotExists?: boolean }) {
    return this.#add(tables.addColumn(table, column, options));
  }
  dropColumn(...args: Params<typeof tables.dropColumn>) {
    return this.#add(tables.dropColumn(...args));
  }
  alterColumn(...args: Params<typeof tables.alterColumn>) {
    return this.#add(...tables.alterColumn(...args));
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
