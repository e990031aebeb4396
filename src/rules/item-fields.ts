import { kindOf, opNeeds, type RuleValue, type Rules, tableKind } from './rules-schema.js';

/** What an item field holds, as far as its source knows it (a head knows its labels). */
export type ItemFieldKind = { type: 'number' } | { type: 'label'; labels?: readonly string[] } | { type: 'range' } | { type: 'box' } | { type: 'object' };

/** The fields items will hold, by path: e.g. `severity.label` → a label of minor, moderate or severe. */
export type ItemFields = Record<string, ItemFieldKind>;

/** A problem in the rules, at a path inside them (e.g. `['tables', 'costs']`). */
export interface RuleIssue {
  path: Array<string | number>;
  message: string;
}

const typeName = (k: ItemFieldKind) => ({ number: 'a number', label: 'a label', range: 'a range', box: 'a box', object: 'an object' })[k.type];

function valueField(values: RuleValue[]): ItemFieldKind {
  const kind = kindOf(values[0]);
  if (kind !== 'text') return { type: kind };
  return { type: 'label', labels: [...new Set(values as string[])] };
}

/**
 * Checks rules that parsed against the fields the items will hold: every path exists, tables cover
 * every label they may be looked up with, orders rank every label they compare, and each aggregate
 * gets values it can combine. Returns every problem found (none: the rules fit).
 */
export function ruleFieldIssues(rules: Rules, fields: ItemFields): RuleIssue[] {
  const issues: RuleIssue[] = [];
  const known = new Map<string, ItemFieldKind>(Object.entries(fields));
  const roots = new Set([...known.keys()].map((p) => p.split('.')[0]));
  const read = (path: string, at: RuleIssue['path']): ItemFieldKind | undefined => {
    const kind = known.get(path);
    if (!kind) issues.push({ path: at, message: `no item field "${path}" (items hold ${[...known.keys()].join(', ') || 'nothing'})` });
    return kind;
  };

  for (const [name, rule] of Object.entries(rules.fields)) {
    const at = ['fields', name];
    if (roots.has(name)) issues.push({ path: at, message: `"${name}" is already an item field; a rule field needs a name of its own` });
    let kind: ItemFieldKind | undefined;
    if (rule.op === 'lookup') {
      const key = read(rule.key, [...at, 'key']);
      const table = rules.tables[rule.table];
      if (key && key.type !== 'label') issues.push({ path: [...at, 'key'], message: `"${rule.key}" is ${typeName(key)}; a table is looked up by a label` });
      if (key?.type === 'label' && key.labels && rule.default === undefined) {
        const missing = key.labels.filter((l) => !Object.hasOwn(table, l));
        if (missing.length > 0) {
          issues.push({
            path: ['tables', rule.table],
            message:
              `no entry for ${missing.map((l) => `"${l}"`).join(', ')} (${missing.length > 1 ? 'labels' : 'a label'} of ` +
              `${rule.key}); add ${missing.length > 1 ? 'them' : 'it'} or give rules.fields.${name} a default`,
          });
        }
      }
      const values = Object.values(table);
      kind = tableKind(table) === 'text' ? valueField(rule.default === undefined ? values : [...values, rule.default]) : valueField(values);
    } else if (rule.op === 'copy') {
      kind = read(rule.from, [...at, 'from']);
      // A copied object brings its inner fields under the new name.
      for (const [path, inner] of [...known]) if (path.startsWith(`${rule.from}.`)) known.set(name + path.slice(rule.from.length), inner);
    } else {
      kind = valueField([rule.value]);
    }
    if (kind) known.set(name, kind);
  }

  for (const [name, rule] of Object.entries(rules.aggregates)) {
    if (rule.op === 'count') continue;
    const at = ['aggregates', name];
    const kind = read(rule.field, [...at, 'field']);
    if (!kind) continue;
    const wrong = () => issues.push({ path: [...at, 'field'], message: `"${rule.field}" is ${typeName(kind)}; ${opNeeds[rule.op]}` });
    if (rule.op === 'sum') {
      if (kind.type !== 'number' && kind.type !== 'range') wrong();
    } else if (rule.op === 'mean') {
      if (kind.type !== 'number') wrong();
    } else if (kind.type === 'number') {
      if (rule.order) issues.push({ path: [...at, 'order'], message: `"${rule.field}" is a number; an order ranks labels` });
    } else if (kind.type === 'label') {
      if (!rule.order) {
        issues.push({
          path: [...at, 'order'],
          message:
            `needed to rank the labels of ` +
            `"${rule.field}"${kind.labels ? ` (${kind.labels.map((l) => `"${l}"`).join(', ')}), lowest first` : ', lowest first'}`,
        });
      } else if (kind.labels) {
        const missing = kind.labels.filter((l) => !rule.order!.includes(l));
        if (missing.length > 0)
          issues.push({
            path: [...at, 'order'],
            message: `no place for ${missing.map((l) => `"${l}"`).join(', ')} (${missing.length > 1 ? 'labels' : 'a label'} of ${rule.field})`,
          });
      }
    } else {
      wrong();
    }
  }
  return issues;
}
