import { describe, expect, it } from 'vitest';
import { SightlineError } from '../dist/src/errors.js';
import { applyRules, parseRules, readField, type Rules } from '../dist/src/rules/index.js';

/** Rules that must parse (without item fields: as a pipeline step may hold them). */
function rules(raw: unknown): Rules {
  const parsed = parseRules(raw);
  if (!parsed.rules) throw new Error(`rules refused: ${JSON.stringify(parsed.issues)}`);
  return parsed.rules;
}

const damage = rules({
  tables: {
    cost: { minor: { min: 100, max: 500 }, moderate: { min: 300, max: 1200 }, severe: { min: 800, max: 2500 } },
    hours: { minor: 1.5, moderate: 4, severe: 12 },
  },
  fields: {
    estimatedCost: { op: 'lookup', table: 'cost', key: 'severity.label' },
    labourHours: { op: 'lookup', table: 'hours', key: 'severity.label', default: 0 },
    type: { op: 'value', value: 'Primary Damage Area' },
    grade: { op: 'copy', from: 'severity.label' },
  },
  aggregates: {
    count: { op: 'count' },
    worst: { op: 'max', field: 'grade', order: ['minor', 'moderate', 'severe'], empty: 'none' },
    mildest: { op: 'min', field: 'grade', order: ['minor', 'moderate', 'severe'] },
    costRange: { op: 'sum', field: 'estimatedCost' },
    hours: { op: 'sum', field: 'labourHours' },
    lowest: { op: 'min', field: 'severity.confidence' },
    highest: { op: 'max', field: 'severity.confidence' },
    mean: { op: 'mean', field: 'severity.confidence' },
  },
});

const item = (label: string, confidence: number) => ({ box: [0, 0, 1, 1], severity: { label, confidence } });

describe('applyRules', () => {
  it('adds the fields in order to each item and aggregates over them', () => {
    const items = [item('moderate', 0.5), item('severe', 0.75), item('minor', 0.25), item('bodywork', 1)];
    const result = applyRules(damage, items.slice(0, 3));
    expect(result.items).toEqual([
      { ...items[0], estimatedCost: { min: 300, max: 1200 }, labourHours: 4, type: 'Primary Damage Area', grade: 'moderate' },
      { ...items[1], estimatedCost: { min: 800, max: 2500 }, labourHours: 12, type: 'Primary Damage Area', grade: 'severe' },
      { ...items[2], estimatedCost: { min: 100, max: 500 }, labourHours: 1.5, type: 'Primary Damage Area', grade: 'minor' },
    ]);
    expect(result.summary).toEqual({
      count: 3,
      worst: 'severe',
      mildest: 'minor',
      costRange: { min: 1200, max: 4200 },
      hours: 17.5,
      lowest: 0.25,
      highest: 0.75,
      mean: 0.5,
    });
    // Aggregates come in the order the rules declare them.
    expect(Object.keys(result.summary)).toEqual(['count', 'worst', 'mildest', 'costRange', 'hours', 'lowest', 'highest', 'mean']);
  });

  it('leaves its input as it was and shares no range between items or with the table', () => {
    const items = [item('minor', 0.5), item('minor', 0.5)];
    const before = structuredClone(items);
    const result = applyRules(damage, items);
    expect(items).toEqual(before);
    expect(result.items[0].estimatedCost).not.toBe(result.items[1].estimatedCost);
    (result.items[0].estimatedCost as { min: number }).min = 0;
    expect(applyRules(damage, items).items[1].estimatedCost).toEqual({ min: 100, max: 500 });
  });

  it('answers the empty values when there are no items: 0 or {min: 0, max: 0} for sums, null or `empty` otherwise', () => {
    expect(applyRules(damage, [])).toEqual({
      items: [],
      summary: { count: 0, worst: 'none', mildest: null, costRange: { min: 0, max: 0 }, hours: 0, lowest: null, highest: null, mean: null },
    });
  });

  it('takes the first of equal values for min and max', () => {
    const r = rules({ aggregates: { best: { op: 'max', field: 'score' } } });
    const items = [
      { score: 1, id: 'a' },
      { score: 1, id: 'b' },
    ];
    expect(applyRules(r, items).summary).toEqual({ best: 1 });
  });

  it('works on items of any shape, e.g. detections', () => {
    const r = rules({
      tables: { wheels: { car: 4, motorcycle: 2 } },
      fields: { wheels: { op: 'lookup', table: 'wheels', key: 'label', default: 0 } },
      aggregates: { vehicles: { op: 'count' }, wheels: { op: 'sum', field: 'wheels' }, best: { op: 'max', field: 'score' } },
    });
    const detections = [
      { label: 'car', score: 0.9, box: [0, 0, 10, 10] },
      { label: 'motorcycle', score: 0.8, box: [20, 0, 30, 10] },
      { label: 'bus', score: 0.7, box: [40, 0, 60, 10] },
    ];
    expect(applyRules(r, detections).summary).toEqual({ vehicles: 3, wheels: 6, best: 0.9 });
  });

  it.each<[string, unknown, Array<Record<string, unknown>>, string]>([
    [
      'a key that is not a label',
      { tables: { t: { a: 1 } }, fields: { f: { op: 'lookup', table: 't', key: 'label' } } },
      [{ label: 3 }],
      'rules.fields.f: item 0\'s "label" is 3, not a label',
    ],
    [
      'a label missing from a table without default',
      { tables: { t: { a: 1 } }, fields: { f: { op: 'lookup', table: 't', key: 'label' } } },
      [{ label: 'a' }, { label: 'b' }],
      'rules.fields.f: table "t" has no entry for "b" (item 1) and the field no default',
    ],
    [
      'a copy of a field the item lacks',
      { fields: { f: { op: 'copy', from: 'severity.label' } } },
      [{ severity: {} }],
      'rules.fields.f: item 0 has no "severity.label"',
    ],
    [
      'a label outside the order',
      { aggregates: { worst: { op: 'max', field: 'label', order: ['a', 'b'] } } },
      [{ label: 'a' }, { label: 'c' }],
      'rules.aggregates.worst: item 1\'s "label" is "c"; the order ranks "a", "b"',
    ],
    [
      'a maximum of texts without an order',
      { aggregates: { worst: { op: 'max', field: 'label' } } },
      [{ label: 'a' }],
      'rules.aggregates.worst: item 0\'s "label" is "a"; max compares numbers, or labels in an order',
    ],
    [
      'a sum of numbers and ranges',
      { aggregates: { s: { op: 'sum', field: 'v' } } },
      [{ v: 1 }, { v: { min: 1, max: 2 } }],
      'rules.aggregates.s: item 1\'s "v" is {"min":1,"max":2}; the other items hold numbers',
    ],
    [
      'a sum of ranges and numbers',
      { aggregates: { s: { op: 'sum', field: 'v' } } },
      [{ v: { min: 1, max: 2 } }, { v: 1 }],
      'rules.aggregates.s: item 1\'s "v" is 1; the other items hold ranges',
    ],
    ['a sum of texts', { aggregates: { s: { op: 'sum', field: 'v' } } }, [{ v: 'x' }], 'rules.aggregates.s: item 0\'s "v" is "x"; sum adds numbers or ranges'],
    [
      'a mean over a missing field',
      { aggregates: { m: { op: 'mean', field: 'v' } } },
      [{ v: 1 }, {}],
      'rules.aggregates.m: item 1\'s "v" is missing; mean averages numbers',
    ],
  ])('fails with a rules_failed 500 naming the rule and the item: %s', (_what, raw, items, message) => {
    let error: unknown;
    try {
      applyRules(rules(raw), items);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(SightlineError);
    expect({ status: (error as SightlineError).status, code: (error as SightlineError).code, message: (error as Error).message }).toEqual({
      status: 500,
      code: 'rules_failed',
      message,
    });
  });
});

describe('readField', () => {
  it('follows own properties only', () => {
    const item = { severity: { label: 'minor', probabilities: { 'a.b': 1 } } };
    expect(readField(item, 'severity.label')).toBe('minor');
    expect(readField(item, 'severity.missing')).toBeUndefined();
    expect(readField(item, 'severity.label.length')).toBeUndefined();
    expect(readField(item, 'severity.constructor')).toBeUndefined();
    expect(readField(item, 'toString')).toBeUndefined();
  });
});

describe('parseRules', () => {
  it('fills in empty tables, fields and aggregates', () => {
    expect(parseRules({})).toEqual({ rules: { tables: {}, fields: {}, aggregates: {} }, issues: [] });
  });

  it('checks the shape alone without item fields, and how fields are used with them', () => {
    const raw = { fields: { f: { op: 'copy', from: 'score' } }, aggregates: { s: { op: 'sum', field: 'label' } } };
    expect(parseRules(raw).issues).toEqual([]);
    expect(parseRules(raw, { label: { type: 'label', labels: ['a'] } }).issues).toEqual([
      { path: ['fields', 'f', 'from'], message: 'no item field "score" (items hold label)' },
      { path: ['aggregates', 's', 'field'], message: '"label" is a label; sum adds numbers or ranges' },
    ]);
  });

  it('refuses a path through __proto__', () => {
    expect(parseRules({ aggregates: { m: { op: 'max', field: '__proto__.x' } } }).issues).toEqual([
      { path: ['aggregates', 'm', 'field'], message: 'expected an item field such as "severity.label" (a name, then .key steps)' },
    ]);
  });
});
