import { z } from 'zod';

/** A closed interval of amounts, e.g. a repair-cost range. */
export interface Range {
  min: number;
  max: number;
}

/** What a table entry, a constant field or an `empty` result may be. */
export type RuleValue = number | string | Range;

export type ValueKind = 'number' | 'text' | 'range';

/** A field, aggregate or head name: a letter or _ then letters, digits or _ (never `__proto__`, which objects treat specially). */
export const RULE_NAME = /^(?!__proto__$)[A-Za-z_][A-Za-z0-9_]*$/;
/** An item field path: a name, then `.key` steps into objects (keys may hold anything but a dot). */
const FIELD_PATH = /^(?!__proto__(\.|$))[A-Za-z_][A-Za-z0-9_]*(\.[^.]+)*$/;

export function kindOf(value: RuleValue): ValueKind {
  return typeof value === 'number' ? 'number' : typeof value === 'string' ? 'text' : 'range';
}

export const kindName: Record<ValueKind, string> = { number: 'a number', text: 'a text', range: 'a range' };

function valueProblem(v: unknown): string | undefined {
  if (typeof v === 'number') return Number.isFinite(v) ? undefined : 'expected a finite number';
  if (typeof v === 'string') return undefined;
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return 'expected a number, a text or a range {"min", "max"}';
  const keys = Object.keys(v);
  const { min, max } = v as Record<string, unknown>;
  if (keys.length !== 2 || typeof min !== 'number' || typeof max !== 'number') return 'a range is {"min": number, "max": number} and nothing else';
  if (!Number.isFinite(min) || !Number.isFinite(max)) return 'a range needs finite numbers';
  if (min > max) return `min ${min} is above max ${max}`;
  return undefined;
}

/** A number, a text or a `{min, max}` range with min ≤ max. */
export const ruleValue = z
  .unknown()
  .superRefine((v, ctx) => {
    const problem = valueProblem(v);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  })
  .transform((v) => v as RuleValue);

const fieldPath = z.string().regex(FIELD_PATH, 'expected an item field such as "severity.label" (a name, then .key steps)');

/** A table from a key (usually a label) to values of one kind. */
const table = z.record(z.string().min(1, 'a table key must not be empty'), ruleValue).superRefine((t, ctx) => {
  const entries = Object.entries(t);
  if (entries.length === 0) {
    ctx.addIssue({ code: 'custom', message: 'a table needs at least one entry' });
    return;
  }
  const [firstKey, firstValue] = entries[0];
  const kind = kindOf(firstValue);
  for (const [key, value] of entries.slice(1)) {
    if (kindOf(value) !== kind) {
      ctx.addIssue({ code: 'custom', path: [key], message: `${kindName[kindOf(value)]}, but the table's first entry "${firstKey}" is ${kindName[kind]}` });
    }
  }
});

const fieldRule = z.discriminatedUnion('op', [
  /** The entry of `table` under the item's `key` field; `default` when the table has none. */
  z.strictObject({ op: z.literal('lookup'), table: z.string(), key: fieldPath, default: ruleValue.optional() }),
  /** Another field's value under this name. */
  z.strictObject({ op: z.literal('copy'), from: fieldPath }),
  /** The same value on every item. */
  z.strictObject({ op: z.literal('value'), value: ruleValue }),
]);

const labelOrder = z
  .array(z.string())
  .min(1, 'an order lists at least one label')
  .superRefine((order, ctx) => {
    order.forEach((label, i) => {
      if (order.indexOf(label) !== i) ctx.addIssue({ code: 'custom', path: [i], message: `duplicate label "${label}"` });
    });
  });

const aggregateRule = z.discriminatedUnion('op', [
  /** How many items there are. */
  z.strictObject({ op: z.literal('count') }),
  /** The sum of numbers, or of ranges (mins and maxes summed apart); no items: `empty`, else 0 or {min: 0, max: 0}. */
  z.strictObject({ op: z.literal('sum'), field: fieldPath, empty: ruleValue.optional() }),
  /** The smallest or largest value: numbers, or labels ranked by `order` (lowest first); no items: `empty` (default null). */
  z.strictObject({ op: z.literal('min'), field: fieldPath, order: labelOrder.optional(), empty: ruleValue.nullable().optional() }),
  z.strictObject({ op: z.literal('max'), field: fieldPath, order: labelOrder.optional(), empty: ruleValue.nullable().optional() }),
  /** The arithmetic mean of numbers; no items: `empty` (default null). */
  z.strictObject({ op: z.literal('mean'), field: fieldPath, empty: ruleValue.nullable().optional() }),
]);

export type FieldRule = z.output<typeof fieldRule>;
export type AggregateRule = z.output<typeof aggregateRule>;

/**
 * Business rules as data: `tables` (key → value), per-item `fields` computed in the order written
 * (a field may read the ones above it) and `aggregates` over all items.
 */
export const rulesSchema = z
  .strictObject({
    tables: z.record(z.string(), table).default({}),
    fields: z.record(z.string(), fieldRule).default({}),
    aggregates: z.record(z.string(), aggregateRule).default({}),
  })
  .superRefine((rules, ctx) => {
    const tableNames = Object.keys(rules.tables);
    for (const name of tableNames) {
      if (!RULE_NAME.test(name)) ctx.addIssue({ code: 'custom', path: ['tables', name], message: 'a table name is a letter or _ then letters, digits or _' });
    }
    const fieldNames = Object.keys(rules.fields);
    fieldNames.forEach((name, i) => {
      const at = ['fields', name];
      if (!RULE_NAME.test(name)) ctx.addIssue({ code: 'custom', path: at, message: 'a field name is a letter or _ then letters, digits or _' });
      const rule = rules.fields[name];
      const read = rule.op === 'lookup' ? rule.key : rule.op === 'copy' ? rule.from : undefined;
      const later = read === undefined ? -1 : fieldNames.indexOf(read.split('.')[0]);
      if (later >= i)
        ctx.addIssue({
          code: 'custom',
          path: [...at, rule.op === 'lookup' ? 'key' : 'from'],
          message: later === i ? 'a field cannot read itself' : `field "${fieldNames[later]}" is computed after this one`,
        });
      if (rule.op !== 'lookup') return;
      const t = Object.hasOwn(rules.tables, rule.table) ? rules.tables[rule.table] : undefined;
      if (!t) {
        ctx.addIssue({
          code: 'custom',
          path: [...at, 'table'],
          message: `no table "${rule.table}" (${tableNames.length > 0 ? `tables: ${tableNames.join(', ')}` : 'rules.tables declares none'})`,
        });
        return;
      }
      const kind = tableKind(t);
      if (rule.default !== undefined && kind !== undefined && kindOf(rule.default) !== kind) {
        ctx.addIssue({
          code: 'custom',
          path: [...at, 'default'],
          message: `${kindName[kindOf(rule.default)]}, but table "${rule.table}" holds ${kind === 'text' ? 'texts' : `${kind}s`}`,
        });
      }
    });
    for (const [name, rule] of Object.entries(rules.aggregates)) {
      const at = ['aggregates', name];
      if (!RULE_NAME.test(name)) ctx.addIssue({ code: 'custom', path: at, message: 'an aggregate name is a letter or _ then letters, digits or _' });
      if (rule.op === 'count') continue;
      // What the rules themselves fix of the field's kind (a table's or a constant's); head fields are checked with the heads.
      const kind = declaredKind(rules, rule.field);
      if (kind === undefined) continue;
      const fits = rule.op === 'sum' ? kind !== 'text' : rule.op === 'mean' ? kind === 'number' : kind !== 'range';
      if (!fits) ctx.addIssue({ code: 'custom', path: [...at, 'field'], message: `"${rule.field}" holds ${kindName[kind]}; ${opNeeds[rule.op]}` });
    }
  });

export type Rules = z.output<typeof rulesSchema>;

export const opNeeds: Record<Exclude<AggregateRule['op'], 'count'>, string> = {
  sum: 'sum adds numbers or ranges',
  mean: 'mean averages numbers',
  min: 'min compares numbers, or labels in an order',
  max: 'max compares numbers, or labels in an order',
};

/** The kind of a table's values (they share one, as the schema checks). */
export function tableKind(t: Record<string, RuleValue>): ValueKind | undefined {
  const first = Object.values(t)[0];
  return first === undefined ? undefined : kindOf(first);
}

/** The kind of values a rule field holds when the rules fix it: a lookup's table or a constant; undefined otherwise. */
export function declaredKind(rules: Rules, path: string, seen: ReadonlySet<string> = new Set()): ValueKind | undefined {
  if (path.includes('.') || seen.has(path) || !Object.hasOwn(rules.fields, path)) return undefined;
  const rule = rules.fields[path];
  if (rule.op === 'value') return kindOf(rule.value);
  if (rule.op === 'lookup') return Object.hasOwn(rules.tables, rule.table) ? tableKind(rules.tables[rule.table]) : undefined;
  // `seen` stops a copy loop, which the schema reports on its own.
  return declaredKind(rules, rule.from, new Set([...seen, path]));
}
