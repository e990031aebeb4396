import { SightlineError } from '../errors.js';
import { applyRules, type RuleItem } from '../rules/index.js';
import { classifyHead, type ClassifyOptions } from './classify.js';
import { multiOptionsSchema, type Lookup, type MultiOptions } from './multi-options.js';
import { outputMismatch } from './output-error.js';
import { pickOutput } from './tensor-access.js';
import type { Head, ImageGeometry, ItemTensor } from './types.js';

export type { MultiOptions, SubHead } from './multi-options.js';

const TASK = 'multi';

/**
 * The answer of a multi-head model: `items` zips the item heads' results (box, classify) by row,
 * each under its head's name, with the rule fields added; `summary` holds the rules' aggregates;
 * any other head answers under its own name.
 */
export interface MultiAnswer {
  items?: RuleItem[];
  summary?: Record<string, unknown>;
  [head: string]: unknown;
}

/** A sub-head's failure, named by the head so the message says which of several went wrong. */
function named(name: string, run: () => unknown): unknown {
  try {
    return run();
  } catch (err) {
    if (err instanceof SightlineError) throw new SightlineError(err.status, err.code, `heads.${name}: ${err.message}`);
    throw err;
  }
}

/** A classify head's results per row: `[1, K, C]` classifies K items, anything else is one result. */
function classifyRows(outputs: Record<string, ItemTensor>, geometry: ImageGeometry, options: ClassifyOptions): unknown[] {
  const tensor = pickOutput('classify', outputs, options.output);
  const { dims } = tensor;
  if (dims.length !== 3 || dims[2] === 1) return [classifyHead.run(outputs, geometry, options)];
  const [, rows, classes] = dims as [number, number, number];
  const rowOptions = { ...options, output: 'row' };
  return Array.from({ length: rows }, (_, r) => {
    const data = tensor.data.subarray(r * classes, (r + 1) * classes);
    return classifyHead.run({ row: { dims: [1, classes], data } }, geometry, rowOptions);
  });
}

/** How many items the rows make: heads with one result belong to every item; the others must agree. */
function itemCount(rows: Array<{ name: string; values: unknown[] }>): number {
  const many = rows.filter((r) => r.values.length !== 1);
  const count = many[0]?.values.length ?? 1;
  const other = many.find((r) => r.values.length !== count);
  if (other) {
    throw outputMismatch(
      TASK,
      `head "${many[0].name}" gives ${count} items but head "${other.name}" ${other.values.length}; item heads give one row per item, or one for all`,
    );
  }
  return count;
}

/**
 * Several heads over the outputs of one run (e.g. a box regression and a severity classifier),
 * with optional business rules over the items. `lookup` finds the head of each task (the registry,
 * passed in so this module need not import it).
 */
export function multiHeadOf(lookup: Lookup, taskNames: () => readonly string[]): Head<MultiOptions, MultiAnswer> {
  return {
    task: TASK,
    options: multiOptionsSchema(lookup, taskNames),
    run(outputs, geometry, options) {
      const rows: Array<{ name: string; values: unknown[] }> = [];
      const others: Record<string, unknown> = {};
      for (const [name, sub] of Object.entries(options.heads)) {
        if (sub.task === 'classify') {
          rows.push({ name, values: named(name, () => classifyRows(outputs, geometry, sub.options as ClassifyOptions)) as unknown[] });
        } else if (sub.task === 'box') {
          rows.push({ name, values: (named(name, () => lookup('box')!.run(outputs, geometry, sub.options)) as { boxes: unknown[] }).boxes });
        } else {
          others[name] = named(name, () => lookup(sub.task)!.run(outputs, geometry, sub.options));
        }
      }
      if (rows.length === 0) return others;
      const count = itemCount(rows);
      const items = Array.from({ length: count }, (_, i) => {
        const item: RuleItem = {};
        for (const { name, values } of rows) item[name] = values.length === 1 ? values[0] : values[i];
        return item;
      });
      if (!options.rules) return { items, ...others };
      const { items: withFields, summary } = applyRules(options.rules, items);
      return { items: withFields, summary, ...others };
    },
    checkOutputs(declared, options) {
      const names = Object.keys(declared);
      for (const [name, sub] of Object.entries(options.heads)) {
        // A raw head answers every output; the others read one.
        if (sub.task === 'raw') continue;
        const output = sub.options.output as string | undefined;
        if (output === undefined && names.length > 1) {
          return { field: `heads.${name}.output`, message: `the model has ${names.length} outputs (${names.join(', ')}); name the one this head reads` };
        }
        if (output !== undefined && !Object.hasOwn(declared, output)) {
          return { field: `heads.${name}.output`, message: `no output "${output}" (model outputs: ${names.join(', ')})` };
        }
        const dims = declared[output ?? names[0]];
        const labels = (sub.options as ClassifyOptions).labels;
        if (sub.task === 'classify' && dims.length === 3 && dims[2] !== 1) {
          // Per-item classes [N, K, C]: C is checked here, K per run.
          if (typeof dims[2] === 'number' && dims[2] !== labels.length) {
            return {
              field: `heads.${name}.labels`,
              message: `${labels.length} labels configured but output "${output ?? names[0]}" has ${dims[2]} classes per item (dims [${dims.join(', ')}])`,
            };
          }
          continue;
        }
        const problem = lookup(sub.task)!.checkOutputs?.(declared, sub.options);
        if (problem) return { field: problem.field.replace(/^head\./, `heads.${name}.`), message: problem.message };
      }
      return undefined;
    },
  };
}
