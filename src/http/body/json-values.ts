import type { FieldProblem } from '../../errors.js';
import { fieldPath } from '../schemas/issue-error.js';

/** With the `u` flag a paired surrogate reads as one code point, so only lone ones match. */
const LONE_SURROGATE = /\p{Surrogate}/u;
const wellFormed = (s: string) => !LONE_SURROGATE.test(s);

/** At most this many problems are listed in one answer. */
const MAX_PROBLEMS = 20;

/**
 * Values JSON.parse accepts that no database stores as sent: strings (values or keys) with a
 * lone UTF-16 surrogate (`"\ud800"`), which SQLite and MySQL each replace in their own way, and
 * numbers too large for a double (`1e400` parses to Infinity and is written back as null).
 * Walks without recursion, as JSON.parse accepts nesting deeper than the call stack.
 */
export function unstorableValues(value: unknown): FieldProblem[] {
  const problems: FieldProblem[] = [];
  // Paths are parent links, turned into arrays only for a problem: copying the path at every level
  // would make a deeply nested body cost the square of its depth.
  // `badKey` marks an entry whose key is at fault, kept in the stack so problems come in document order.
  const stack: Array<{ value: unknown; at: PathLink | undefined; badKey?: string }> = [{ value, at: undefined }];
  while (stack.length > 0 && problems.length < MAX_PROBLEMS) {
    const { value: v, at, badKey } = stack.pop()!;
    if (badKey !== undefined) {
      problems.push({ field: fieldPath(pathOf(at)), message: `has a key with a lone UTF-16 surrogate (${JSON.stringify(badKey)})` });
    } else if (typeof v === 'string') {
      if (!wellFormed(v)) problems.push({ field: fieldPath(pathOf(at)), message: 'contains a lone UTF-16 surrogate (not a Unicode character)' });
    } else if (typeof v === 'number') {
      if (!Number.isFinite(v)) problems.push({ field: fieldPath(pathOf(at)), message: 'is a number too large to store' });
    } else if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) stack.push({ value: v[i], at: { key: i, parent: at } });
    } else if (v !== null && typeof v === 'object') {
      const entries = Object.entries(v);
      for (let i = entries.length - 1; i >= 0; i--) {
        const [key, child] = entries[i]!;
        stack.push(wellFormed(key) ? { value: child, at: { key, parent: at } } : { value: undefined, at, badKey: key });
      }
    }
  }
  return problems;
}

interface PathLink {
  key: PropertyKey;
  parent: PathLink | undefined;
}

function pathOf(link: PathLink | undefined): PropertyKey[] {
  const path: PropertyKey[] = [];
  for (let at = link; at !== undefined; at = at.parent) path.push(at.key);
  return path.reverse();
}
