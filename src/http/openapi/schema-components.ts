import { isDeepStrictEqual } from 'node:util';
import { z } from 'zod';

export type JsonSchema = Record<string, unknown>;

const COMPONENTS = '#/components/schemas/';
const LOCAL_DEFS = '#/$defs/';

/** Replaces every `$ref` of the tree that `rename` maps (a new tree; the input is not changed). */
function rewriteRefs(node: unknown, rename: (ref: string) => string): unknown {
  if (Array.isArray(node)) return node.map((item) => rewriteRefs(item, rename));
  if (node === null || typeof node !== 'object') return node;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(node)) {
    out[key] = key === '$ref' && typeof value === 'string' ? rename(value) : rewriteRefs(value, rename);
  }
  return out;
}

/**
 * Turns zod schemas into the JSON Schema (draft 2020-12) of OpenAPI 3.1. Schemas with a
 * `.meta({ id })` become named components, shared by every operation that uses them; the rest is
 * inlined. Requests are described by what a client sends (`io: 'input'`, before transforms and
 * defaults), responses by what the server writes (`io: 'output'`).
 */
export class SchemaComponents {
  readonly schemas: Record<string, JsonSchema> = {};
  private readonly cache = new Map<z.ZodType, { input?: JsonSchema; output?: JsonSchema }>();

  convert(schema: z.ZodType, io: 'input' | 'output'): JsonSchema {
    const cached = this.cache.get(schema)?.[io];
    if (cached) return cached;
    const {
      $schema: _,
      $defs,
      ...root
    } = z.toJSONSchema(schema, { target: 'draft-2020-12', io, unrepresentable: 'throw', cycles: 'ref', reused: 'inline' }) as JsonSchema & {
      $defs?: Record<string, JsonSchema>;
    };
    // A request shape that differs from the response shape of the same id is named `<id>Input`.
    const names = new Map<string, string>();
    for (const [id, definition] of Object.entries($defs ?? {})) names.set(id, this.freeName(id, definition, io));
    const rename = (ref: string) =>
      ref.startsWith(LOCAL_DEFS) ? `${COMPONENTS}${names.get(ref.slice(LOCAL_DEFS.length)) ?? ref.slice(LOCAL_DEFS.length)}` : ref;
    for (const [id, definition] of Object.entries($defs ?? {})) this.schemas[names.get(id)!] = rewriteRefs(definition, rename) as JsonSchema;
    const result = rewriteRefs(root, rename) as JsonSchema;
    this.cache.set(schema, { ...this.cache.get(schema), [io]: result });
    return result;
  }

  private freeName(id: string, definition: JsonSchema, io: 'input' | 'output'): string {
    // Only a request shape may take a second name: a response schema's id is its one name.
    const candidates = io === 'input' ? [id, `${id}Input`] : [id];
    for (const name of candidates) {
      const existing = this.schemas[name];
      if (existing === undefined) return name;
      // Compare with references spelled as they will be stored.
      const spelled = rewriteRefs(definition, (ref) => ref.replace(LOCAL_DEFS, COMPONENTS));
      if (isDeepStrictEqual(existing, spelled)) return name;
    }
    throw new Error(`OpenAPI: schema id ${JSON.stringify(id)} names two different schemas`);
  }
}
