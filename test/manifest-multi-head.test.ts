import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadManifest } from '../dist/src/engine/manifest.js';
import { makeModelRepo } from './helpers/model-repo.js';
import { repoRoot } from './helpers/server.js';

// The manifest is read and checked without loading the model, so any bytes stand in for it.
const example = JSON.parse(readFileSync(path.join(repoRoot, 'models', 'examples', 'damage-assessment', 'model.json'), 'utf8')) as Record<string, any>;
const clone = <T>(v: T): T => structuredClone(v);

/** The load error of a manifest, without the file name in front; throws if it loads. */
function problem(manifest: Record<string, unknown>): string {
  const dir = makeModelRepo({ m: { manifest, onnx: new Uint8Array([0]) } });
  try {
    loadManifest(path.join(dir, 'm'));
  } catch (err) {
    const prefix = `${path.join(dir, 'm', 'model.json')}: `;
    const message = (err as Error).message;
    expect((err as Error).name).toBe('ManifestError');
    expect(message.startsWith(prefix)).toBe(true);
    return message.slice(prefix.length);
  }
  throw new Error('expected the manifest to be refused');
}

/** The example with its rules changed by `edit`. */
function withRules(edit: (rules: Record<string, any>) => void): Record<string, unknown> {
  const m = clone(example);
  edit(m.rules);
  return m;
}

describe('multi-head manifests', () => {
  it('parse the example: every head with its options filled in, rules as written', () => {
    const dir = makeModelRepo({ 'damage-assessment': { manifest: example, onnx: new Uint8Array([0]) } });
    const spec = loadManifest(path.join(dir, 'damage-assessment'));
    expect(spec.task).toBe('multi');
    expect(spec.head).toEqual({
      heads: {
        box: { task: 'box', options: { format: 'xyxy', normalized: true, output: 'boxes' } },
        severity: { task: 'classify', options: { labels: ['minor', 'moderate', 'severe'], softmax: true, topK: 1, output: 'severity_logits' } },
      },
      rules: example.rules,
    });
  });

  it("read a head's labelsFile relative to the model folder, and name it when missing", () => {
    const m = clone(example);
    m.heads.severity = { task: 'classify', output: 'severity_logits', labelsFile: 'severity.txt' };
    const dir = makeModelRepo({ m: { manifest: m, onnx: new Uint8Array([0]) } });
    expect(problem(m)).toBe('heads.severity.labelsFile: file not found: severity.txt');
    writeFileSync(path.join(dir, 'm', 'severity.txt'), 'minor\nmoderate\nsevere\n');
    expect((loadManifest(path.join(dir, 'm')).head as any).heads.severity.options.labels).toEqual(['minor', 'moderate', 'severe']);
  });

  it.each([
    [
      'task "multi" without heads',
      { ...example, heads: undefined, rules: undefined },
      'heads: task "multi" needs heads: {"<name>": {"task": ..., ...options}}',
    ],
    ['task "multi" with a single head', { ...example, head: { labels: ['a'] } }, 'head: task "multi" takes "heads" (name → {task, ...options}), not "head"'],
    [
      'heads on another task',
      { ...example, task: 'classify', head: { labels: ['a'] }, rules: undefined },
      'heads: only with task "multi" (a single head goes in "head")',
    ],
    [
      'rules on another task',
      { ...example, task: 'classify', head: { labels: ['a'] }, heads: undefined },
      'rules: only with task "multi", whose heads make the items rules work on',
    ],
    ['no heads at all', { ...example, heads: {}, rules: undefined }, 'heads: name at least one head: {"<name>": {"task": ..., ...options}}'],
    [
      'a head name the answer uses',
      { ...example, heads: { ...example.heads, summary: { task: 'raw' } } },
      'heads.summary: "summary" is a field of the answer itself; choose another head name',
    ],
    [
      'a head name that is not a name',
      { ...example, heads: { ...example.heads, 'two words': { task: 'raw' } } },
      'heads.two words: a head name is a letter or _ then letters, digits or _',
    ],
    [
      'a head without a task',
      { ...example, heads: { ...example.heads, box: { output: 'boxes' } } },
      'heads.box.task: expected one of "classify", "detect", "raw", "text-detect", "text-recognize", "segment", "box", "multilabel"',
    ],
    [
      'a head of task multi',
      { ...example, heads: { ...example.heads, box: { task: 'multi' } } },
      'heads.box.task: expected one of "classify", "detect", "raw", "text-detect", "text-recognize", "segment", "box", "multilabel"',
    ],
    ['a head that is not an object', { ...example, heads: { ...example.heads, box: 'box' } }, 'heads.box: expected {"task": ..., ...that task\'s options}'],
    [
      'a bad option of a head',
      { ...example, heads: { ...example.heads, box: { task: 'box', output: 'boxes', format: 'yxyx' } } },
      'heads.box.format: Invalid option: expected one of "xyxy"|"cxcywh"|"xywh"',
    ],
    [
      'an option of another task',
      { ...example, heads: { ...example.heads, box: { task: 'box', output: 'boxes', labels: ['a'] } } },
      'heads.box: Unrecognized key: "labels"',
    ],
    ['rules with no item head', { ...example, heads: { tensors: { task: 'raw' } } }, 'rules: rules work on items; add a head of task "box" or "classify"'],
  ])('refuse %s, naming the field', (_what, manifest, message) => {
    expect(problem(manifest as Record<string, unknown>)).toBe(message);
  });
});

/** The fields the example's items hold from their heads, as a refusal lists them (rule fields follow). */
const HEAD_FIELDS =
  'box, severity, severity.label, severity.confidence, severity.probabilities.minor, severity.probabilities.moderate, severity.probabilities.severe';

/** An edit that keys the example's cost lookup by another item field path. */
const costKeyedBy = (field: string) => (rules: Record<string, any>) => (rules.fields.estimatedCost.key = field);

describe('rules in a manifest: each mistake refused at load, naming the field', () => {
  it.each<[string, (r: Record<string, any>) => void, string]>([
    ['an unknown key', (r) => (r.costs = {}), 'rules: Unrecognized key: "costs"'],
    ['a range with min above max', (r) => (r.tables.repairCost.severe = { min: 2500, max: 800 }), 'rules.tables.repairCost.severe: min 2500 is above max 800'],
    [
      'a range with other keys',
      (r) => (r.tables.repairCost.severe = { min: 800, max: 2500, currency: 'EUR' }),
      'rules.tables.repairCost.severe: a range is {"min": number, "max": number} and nothing else',
    ],
    [
      'a value that is no number, text or range',
      (r) => (r.tables.repairCost.severe = [800, 2500]),
      'rules.tables.repairCost.severe: expected a number, a text or a range {"min", "max"}',
    ],
    [
      'a table of mixed kinds',
      (r) => (r.tables.repairCost.severe = 2500),
      'rules.tables.repairCost.severe: a number, but the table\'s first entry "minor" is a range',
    ],
    ['an empty table', (r) => (r.tables.spare = {}), 'rules.tables.spare: a table needs at least one entry'],
    [
      'a table name that is not a name',
      (r) => (r.tables['repair cost'] = { minor: 1 }),
      'rules.tables.repair cost: a table name is a letter or _ then letters, digits or _',
    ],
    [
      'an unknown field op',
      (r) => (r.fields.estimatedCost.op = 'table'),
      "rules.fields.estimatedCost.op: Invalid discriminator value. Expected 'lookup' | 'copy' | 'value'",
    ],
    ['a lookup without a key', (r) => delete r.fields.estimatedCost.key, 'rules.fields.estimatedCost.key: Invalid input: expected string, received undefined'],
    [
      'a lookup in a table that does not exist',
      (r) => (r.fields.estimatedCost.table = 'costs'),
      'rules.fields.estimatedCost.table: no table "costs" (tables: repairCost)',
    ],
    [
      'a default of another kind than the table',
      (r) => (r.fields.estimatedCost.default = 0),
      'rules.fields.estimatedCost.default: a number, but table "repairCost" holds ranges',
    ],
    [
      'a field name that is not a name',
      (r) => (r.fields['2nd'] = { op: 'value', value: 1 }),
      'rules.fields.2nd: a field name is a letter or _ then letters, digits or _',
    ],
    [
      'a field named like a head',
      (r) => (r.fields = { severity: { op: 'value', value: 'x' }, ...r.fields }),
      'rules.fields.severity: "severity" is already an item field; a rule field needs a name of its own',
    ],
    ['a field that reads itself', (r) => (r.fields.loop = { op: 'copy', from: 'loop' }), 'rules.fields.loop.from: a field cannot read itself'],
    [
      'a field that reads a later one',
      (r) => (r.fields = { first: { op: 'copy', from: 'second' }, second: { op: 'value', value: 1 } }),
      'rules.fields.first.from: field "second" is computed after this one',
    ],
    [
      'a path that is not a path',
      costKeyedBy('severity..label'),
      'rules.fields.estimatedCost.key: expected an item field such as "severity.label" (a name, then .key steps)',
    ],
    [
      'a field the items do not hold',
      costKeyedBy('severity.lable'),
      `rules.fields.estimatedCost.key: no item field "severity.lable" (items hold ${HEAD_FIELDS})`,
    ],
    [
      'a lookup by a number',
      costKeyedBy('severity.confidence'),
      'rules.fields.estimatedCost.key: "severity.confidence" is a number; a table is looked up by a label',
    ],
    [
      'a table without an entry for a label',
      (r) => delete r.tables.repairCost.moderate,
      'rules.tables.repairCost: no entry for "moderate" (a label of severity.label); add it or give rules.fields.estimatedCost a default',
    ],
    [
      'an unknown aggregate op',
      (r) => (r.aggregates.totalDamages.op = 'size'),
      "rules.aggregates.totalDamages.op: Invalid discriminator value. Expected 'count' | 'sum' | 'min' | 'max' | 'mean'",
    ],
    [
      'an aggregate over a field the items do not hold',
      (r) => (r.aggregates.costRange.field = 'cost'),
      `rules.aggregates.costRange.field: no item field "cost" (items hold ${HEAD_FIELDS}, estimatedCost)`,
    ],
    [
      'a sum of labels',
      (r) => (r.aggregates.costRange.field = 'severity.label'),
      'rules.aggregates.costRange.field: "severity.label" is a label; sum adds numbers or ranges',
    ],
    [
      'a sum of a text table',
      (r) => (
        (r.tables.kind = { minor: 'scratch', moderate: 'dent', severe: 'crush' }),
        (r.fields.kind = { op: 'lookup', table: 'kind', key: 'severity.label' }),
        (r.aggregates.costRange.field = 'kind')
      ),
      'rules.aggregates.costRange.field: "kind" holds a text; sum adds numbers or ranges',
    ],
    [
      'a mean of ranges',
      (r) => (r.aggregates.costRange = { op: 'mean', field: 'estimatedCost' }),
      'rules.aggregates.costRange.field: "estimatedCost" holds a range; mean averages numbers',
    ],
    [
      'a mean of boxes',
      (r) => (r.aggregates.costRange = { op: 'mean', field: 'box' }),
      'rules.aggregates.costRange.field: "box" is a box; mean averages numbers',
    ],
    [
      'a maximum of labels without an order',
      (r) => delete r.aggregates.overallSeverity.order,
      'rules.aggregates.overallSeverity.order: needed to rank the labels of "severity.label" ("minor", "moderate", "severe"), lowest first',
    ],
    [
      'an order without a label the head gives',
      (r) => (r.aggregates.overallSeverity.order = ['minor', 'severe']),
      'rules.aggregates.overallSeverity.order: no place for "moderate" (a label of severity.label)',
    ],
    [
      'an order with a label twice',
      (r) => (r.aggregates.overallSeverity.order = ['minor', 'moderate', 'severe', 'minor']),
      'rules.aggregates.overallSeverity.order.3: duplicate label "minor"',
    ],
    [
      'an order for numbers',
      (r) => (r.aggregates.confidence.order = ['low', 'high']),
      'rules.aggregates.confidence.order: "severity.confidence" is a number; an order ranks labels',
    ],
    [
      'a minimum of ranges',
      (r) => (r.aggregates.confidence.field = 'estimatedCost'),
      'rules.aggregates.confidence.field: "estimatedCost" holds a range; min compares numbers, or labels in an order',
    ],
    ['an option an op does not take', (r) => (r.aggregates.totalDamages.field = 'box'), 'rules.aggregates.totalDamages: Unrecognized key: "field"'],
    [
      'an aggregate name that is not a name',
      (r) => (r.aggregates['total-damages'] = { op: 'count' }),
      'rules.aggregates.total-damages: an aggregate name is a letter or _ then letters, digits or _',
    ],
  ])('%s', (_what, edit, message) => {
    expect(problem(withRules(edit))).toBe(message);
  });
});
