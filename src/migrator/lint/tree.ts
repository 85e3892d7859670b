/**
 * Reading libpg-query's JSON parse trees: PostgreSQL's own node names, so a rule reads
 * as the grammar does. Pure helpers; no rule logic.
 */
export type Node = Record<string, unknown>;

export const child = (node: unknown, key: string): Node | undefined =>
  (node as Node | undefined)?.[key] as Node | undefined;

export const list = (node: unknown, key: string): Node[] =>
  ((node as Node | undefined)?.[key] as Node[]) ?? [];

/** `schema.table`, or `table` as written (unqualified names resolve through search_path). */
export function tableName(relation: unknown): string {
  const r = relation as { schemaname?: string; relname?: string } | undefined;
  return r?.schemaname ? `${r.schemaname}.${r.relname}` : (r?.relname ?? '?');
}

/** The names of a String list (type names, function names, domain names), joined by dots. */
export function dotted(items: unknown): string {
  return ((items as Node[] | undefined) ?? [])
    .map((item) => String(child(item, 'String')?.['sval'] ?? ''))
    .join('.');
}

/** A column type's last name (`int4`, `varchar`, `serial`), as the parser resolved it. */
export function typeOf(columnDef: Node | undefined): string {
  const names = list(child(columnDef, 'typeName'), 'names');
  return String(child(names[names.length - 1], 'String')?.['sval'] ?? '');
}

export function constraintsOf(columnDef: Node | undefined): Node[] {
  return list(columnDef, 'constraints').map((c) => child(c, 'Constraint') ?? {});
}

/** The AlterTableCmd nodes of an ALTER TABLE. */
export function alterCommands(alter: Node): Node[] {
  return list(alter, 'cmds')
    .map((item) => child(item, 'AlterTableCmd'))
    .filter((cmd): cmd is Node => cmd !== undefined);
}

/** Whether a DefElem list (VACUUM options, REINDEX params) names `option`. */
export const hasOption = (node: Node, key: string, option: string): boolean =>
  list(node, key).some((item) => child(item, 'DefElem')?.['defname'] === option);

/** Function names a default expression calls, anywhere inside it. */
export function calledFunctions(expression: unknown): string[] {
  const names: string[] = [];
  const visit = (value: unknown): void => {
    if (Array.isArray(value)) value.forEach(visit);
    else if (value && typeof value === 'object') {
      const call = (value as Node)['FuncCall'] as Node | undefined;
      if (call) names.push(dotted(call['funcname']));
      for (const inner of Object.values(value)) visit(inner);
    }
  };
  visit(expression);
  return names;
}
