import { RevisionGraph } from '../../src/migrator/chain/graph.js';
import { fromDefinition } from '../../src/migrator/chain/loader.js';
import type { Migration } from '../../src/migrator/chain/migration.js';

/** An in-memory revision whose upgrade creates table <id> and whose downgrade drops it. */
export function rev(
  id: string,
  down: string[] = [],
  options: { transactional?: boolean; dependsOn?: string[]; branchLabels?: string[] } = {},
): Migration {
  return fromDefinition(
    {
      revision: id,
      downRevision: down,
      message: `rev ${id}`,
      ...options,
      upgrade: (op) => void op.execute(`CREATE TABLE t_${id} (id int)`),
      downgrade: (op) => void op.execute(`DROP TABLE t_${id}`),
    },
    `<test>/${id}.ts`,
  );
}

/** "a<-b" style: each entry is [id, ...downRevisions]. */
export function graphOf(...entries: string[][]): RevisionGraph {
  return RevisionGraph.build(entries.map(([id, ...down]) => rev(id!, down)));
}
