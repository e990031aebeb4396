/** What a key may do. Scopes are independent: `admin` does not imply the others. */
export const SCOPES = ['predict', 'ingest', 'read', 'admin'] as const;
export type Scope = (typeof SCOPES)[number];

/** What a route needs: no key at all, or a key holding one scope. */
export type Access = 'public' | Scope;

export function isScope(value: unknown): value is Scope {
  return typeof value === 'string' && (SCOPES as readonly string[]).includes(value);
}
