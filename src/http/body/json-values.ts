import type { FieldProblem } from '../../errors.js';
import { fieldPath } from '../schemas/issue-error.js';

/** With the `u` flag a paired surrogate reads as one code point, so only lone ones match. */
const LONE_SURROGATE = /\p{Surrogate}/u;
const wellFormed = (s: string) => !LONE_SURROGATE.test(s);

/** At most this many problems are listed in one answer. */
const MAX_PROBLEMS = 20;

/**
 * Arrays and objects nest at most this many levels below a body's top-level value. A fixed rule
 * rather than whatever the call stack of a later JSON.stringify allows.
 */
export const MAX_JSON_DEPTH = 128;

/**
 * Values JSON.parse accepts that no database stores as sent: strings (values or keys) with a
 * lone UTF-16 surrogate (`"\ud800"`), which SQLite and MySQL each replace in their own way, and
 * numbers too large for a double (`1e400` parses to Infinity and is written back as null), and
 * nesting deeper than MAX_JSON_DEPTH. Walks without recursion, as JSON.parse accepts nesting
 * deeper than the call stack, and stops descending where the depth limit is crossed.
 */
export function unstorableValues(value: unknown): FieldProblem[] {
  const problems: FieldProblem[] = [];
  // Paths are parent links, turned into arrays only for a problem: copying the path at every level
  // would make a deeply nested body cost the square of its depth.
  // `badKey` marks an entry whose key is at fault, kept in the stack so problems come in document order.
  // A value's level is `depth + 1`: the top-level value is level 0, its members level 1, and so on.
  const stack: Array<{ value: unknown; at: PathLink | undefined; depth: number; badKey?: string }> = [{ value, at: undefined, depth: -1 }];
  while (stack.length > 0 && problems.length < MAX_PROBLEMS) {
    const { value: v, at, depth, badKey } = stack.pop()!;
    if (badKey !== undefined) {
      problems.push({ field: fieldPath(pathOf(at)), message: `has a key with a lone UTF-16 surrogate (${JSON.stringify(badKey)})` });
    } else if (typeof v === 'string') {
      if (!wellFormed(v)) problems.push({ field: fieldPath(pathOf(at)), message: 'contains a lone UTF-16 surrogate (not a Unicode character)' });
    } else if (typeof v === 'number') {
      if (!Number.isFinite(v)) problems.push({ field: fieldPath(pathOf(at)), message: 'is a number too large to store' });
    } else if (v !== null && typeof v === 'object' && depth >= MAX_JSON_DEPTH) {
      problems.push({ field: fieldPath(fieldOf(pathOf(at))), message: `is nested deeper than ${MAX_JSON_DEPTH} levels` });
    } else if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) stack.push({ value: v[i], at: { key: i, parent: at }, depth: depth + 1 });
    } else if (v !== null && typeof v === 'object') {
      const entries: Array<[string, unknown]> = Object.entries(v);
      for (let i = entries.length - 1; i >= 0; i--) {
        const [key, child] = entries[i];
        stack.push(wellFormed(key) ? { value: child, at: { key, parent: at }, depth: depth + 1 } : { value: undefined, at, depth, badKey: key });
      }
    }
  }
  return problems;
}

interface PathLink {
  key: PropertyKey;
  parent: PathLink | undefined;
}

/**
 * The field a too-deep value belongs to, not the place 128 levels down: body fields sit at most
 * three segments in (`detections[3].meta`), so the path is cut there, back to its last key.
 */
function fieldOf(path: PropertyKey[]): PropertyKey[] {
  const head = path.slice(0, 3);
  while (head.length > 1 && typeof head[head.length - 1] === 'number') head.pop();
  return head;
}

function pathOf(link: PathLink | undefined): PropertyKey[] {
  const path: PropertyKey[] = [];
  for (let at = link; at !== undefined; at = at.parent) path.push(at.key);
  return path.reverse();
}
