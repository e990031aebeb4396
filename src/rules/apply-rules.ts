import { SightlineError } from '../errors.js';
import { declaredKind, type AggregateRule, type Range, type RuleValue, type Rules } from './rules-schema.js';

/** One item the rules read and extend: a head's results by head name, a detection, a crop's answers. */
export type RuleItem = Record<string, unknown>;

export interface RulesResult {
  /** The items with the rule fields added (new objects; the input is left as it was). */
  items: RuleItem[];
  /** Every aggregate by name, in the order the rules declare them. */
  summary: Record<string, unknown>;
}

/** Items that do not hold what the rules read: the data does not fit the rules, a server-side fault. */
function rulesFailed(message: string): SightlineError {
  return new SightlineError(500, 'rules_failed', message);
}

/** The value at a dotted path (`severity.label`), own properties only; undefined where the path ends early. */
export function readField(item: RuleItem, path: string): unknown {
  let value: unknown = item;
  for (const step of path.split('.')) {
    if (value === null || typeof value !== 'object' || !Object.hasOwn(value, step)) return undefined;
    value = (value as Record<string, unknown>)[step];
  }
  return value;
}

const isRange = (v: unknown): v is Range => v !== null && typeof v === 'object' && typeof (v as Range).min === 'number' && typeof (v as Range).max === 'number';

/** Ranges are copied so that no two items (or an item and the table) share one object. */
const copyValue = (v: RuleValue): RuleValue => (typeof v === 'object' ? { min: v.min, max: v.max } : v);

const shown = (v: unknown) => (v === undefined ? 'missing' : JSON.stringify(v));

/**
 * Applies rules to items: each item gets the rule fields in the order declared (reading its own
 * fields and the rule fields before), then the aggregates are taken over the finished items.
 * Throws a `rules_failed` error naming the rule, the item and the value when the data does not fit.
 */
export function applyRules(rules: Rules, items: readonly RuleItem[]): RulesResult {
  const fields = Object.entries(rules.fields);
  const out = items.map((item, i) => {
    const extended: RuleItem = { ...item };
    for (const [name, rule] of fields) {
      let value: unknown;
      if (rule.op === 'value') {
        value = copyValue(rule.value);
      } else if (rule.op === 'copy') {
        value = readField(extended, rule.from);
        if (value === undefined) throw rulesFailed(`rules.fields.${name}: item ${i} has no "${rule.from}"`);
      } else {
        const key = readField(extended, rule.key);
        if (typeof key !== 'string') throw rulesFailed(`rules.fields.${name}: item ${i}'s "${rule.key}" is ${shown(key)}, not a label`);
        const table = rules.tables[rule.table];
        const entry = Object.hasOwn(table, key) ? table[key] : rule.default;
        if (entry === undefined)
          throw rulesFailed(`rules.fields.${name}: table "${rule.table}" has no entry for "${key}" (item ${i}) and the field no default`);
        value = copyValue(entry);
      }
      extended[name] = value;
    }
    return extended;
  });
  const summary: Record<string, unknown> = {};
  for (const [name, rule] of Object.entries(rules.aggregates)) summary[name] = aggregate(name, rule, rules, out);
  return { items: out, summary };
}

function aggregate(name: string, rule: AggregateRule, rules: Rules, items: RuleItem[]): unknown {
  if (rule.op === 'count') return items.length;
  const at = `rules.aggregates.${name}`;
  const values = items.map((item) => readField(item, rule.field));
  if (values.length === 0) {
    if (rule.empty !== undefined) return rule.empty === null ? null : copyValue(rule.empty);
    if (rule.op !== 'sum') return null;
    return declaredKind(rules, rule.field) === 'range' ? { min: 0, max: 0 } : 0;
  }
  const bad = (i: number, what: string) => rulesFailed(`${at}: item ${i}'s "${rule.field}" is ${shown(values[i])}; ${what}`);

  if (rule.op === 'sum') {
    if (typeof values[0] === 'number') {
      let sum = 0;
      values.forEach((v, i) => {
        if (typeof v !== 'number') throw bad(i, 'the other items hold numbers');
        sum += v;
      });
      return sum;
    }
    const total = { min: 0, max: 0 };
    values.forEach((v, i) => {
      if (!isRange(v)) throw bad(i, i === 0 ? 'sum adds numbers or ranges' : 'the other items hold ranges');
      total.min += v.min;
      total.max += v.max;
    });
    return total;
  }

  if (rule.op === 'mean') {
    let sum = 0;
    values.forEach((v, i) => {
      if (typeof v !== 'number') throw bad(i, 'mean averages numbers');
      sum += v;
    });
    return sum / values.length;
  }

  // min or max: by rank in the order for labels, by value for numbers; the first of equals wins.
  const { order } = rule;
  const rank = (v: unknown, i: number): number => {
    if (order) {
      const r = typeof v === 'string' ? order.indexOf(v) : -1;
      if (r < 0) throw bad(i, `the order ranks ${order.map((l) => `"${l}"`).join(', ')}`);
      return r;
    }
    if (typeof v !== 'number') throw bad(i, `${rule.op} compares numbers, or labels in an order`);
    return v;
  };
  let best = 0;
  let bestRank = rank(values[0], 0);
  for (let i = 1; i < values.length; i++) {
    const r = rank(values[i], i);
    if (rule.op === 'max' ? r > bestRank : r < bestRank) {
      best = i;
      bestRank = r;
    }
  }
  return values[best];
}
