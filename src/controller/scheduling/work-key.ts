/**
 * What the controller's one work queue holds: a resource of either kind, by its
 * namespace/name. The kind is part of the key's type, so the handler dispatches on it
 * rather than on a string prefix it would have to remember.
 */
export type WorkKey = `migration:${string}` | `set:${string}`;

export const migrationWork = (objectKey: string): WorkKey => `migration:${objectKey}`;

export const setWork = (o: { metadata: { namespace?: string; name?: string } }): WorkKey =>
  `set:${o.metadata.namespace ?? ''}/${o.metadata.name ?? ''}`;

export function workOf(key: WorkKey): { readonly kind: 'migration' | 'set'; readonly objectKey: string } {
  const colon = key.indexOf(':');
  return { kind: key.slice(0, colon) as 'migration' | 'set', objectKey: key.slice(colon + 1) };
}
