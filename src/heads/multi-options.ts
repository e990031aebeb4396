import { z } from 'zod';
import { parseRules, RULE_NAME, type ItemFields, type Rules } from '../rules/index.js';
import type { ClassifyOptions } from './classify.js';
import type { Head } from './types.js';

/** One named head of a multi-head model: its task and that task's options, parsed. */
export interface SubHead {
  task: string;
  options: Record<string, unknown>;
}

export interface MultiOptions {
  /** In manifest order. */
  heads: Record<string, SubHead>;
  rules?: Rules;
}

/** Tasks whose results are per item (one row per item, or one for every item); the others answer under their name. */
export const ITEM_TASKS: readonly string[] = ['box', 'classify'];

/** Names the answer itself uses, so no head may take them. */
const RESERVED = new Set(['items', 'summary', 'model', 'width', 'height', 'batchSize', 'latencyMs']);

/** Finds the head of a task (the registry, passed in so heads/ has no import cycle). */
export type Lookup = (task: string) => Head<unknown, unknown> | undefined;

/** The fields items will hold, from the item heads: what rules may read. */
export function itemFieldsOf(heads: Record<string, SubHead>): ItemFields {
  const fields: ItemFields = {};
  for (const [name, head] of Object.entries(heads)) {
    if (head.task === 'box') fields[name] = { type: 'box' };
    if (head.task !== 'classify') continue;
    const { labels } = head.options as ClassifyOptions;
    fields[name] = { type: 'object' };
    fields[`${name}.label`] = { type: 'label', labels };
    fields[`${name}.confidence`] = { type: 'number' };
    for (const label of labels) fields[`${name}.probabilities.${label}`] = { type: 'number' };
  }
  return fields;
}

/**
 * The options of a multi-head model, as the manifest writes them: `heads` (name → `{task, ...that
 * task's options}`) and optional `rules` over the items. Issue paths start at `heads` or `rules`.
 */
export function multiOptionsSchema(lookup: Lookup, taskNames: () => readonly string[]): z.ZodType<MultiOptions> {
  return z
    .strictObject({
      heads: z.record(z.string(), z.unknown()),
      rules: z.unknown().optional(),
    })
    .transform((raw, ctx): MultiOptions => {
      const issue = (path: PropertyKey[], message: string) => ctx.issues.push({ code: 'custom', path, message, input: raw });
      const names = Object.keys(raw.heads);
      if (names.length === 0) issue(['heads'], 'name at least one head: {"<name>": {"task": ..., ...options}}');
      const heads: Record<string, SubHead> = {};
      const subTasks = taskNames().filter((t) => t !== 'multi');
      for (const name of names) {
        const at = ['heads', name];
        if (!RULE_NAME.test(name)) issue(at, 'a head name is a letter or _ then letters, digits or _');
        else if (RESERVED.has(name)) issue(at, `"${name}" is a field of the answer itself; choose another head name`);
        const entry = raw.heads[name];
        if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) {
          issue(at, 'expected {"task": ..., ...that task\'s options}');
          continue;
        }
        const { task, ...options } = entry as Record<string, unknown>;
        const head = typeof task === 'string' && subTasks.includes(task) ? lookup(task) : undefined;
        if (!head) {
          issue([...at, 'task'], `expected one of ${subTasks.map((t) => `"${t}"`).join(', ')}`);
          continue;
        }
        const parsed = head.options.safeParse(options);
        if (!parsed.success) {
          for (const i of parsed.error.issues) issue([...at, ...i.path], i.message);
          continue;
        }
        heads[name] = { task: task as string, options: parsed.data as Record<string, unknown> };
      }
      if (ctx.issues.length > 0) return z.NEVER;
      if (raw.rules === undefined) return { heads };
      if (!Object.values(heads).some((h) => ITEM_TASKS.includes(h.task))) {
        issue(['rules'], `rules work on items; add a head of task ${ITEM_TASKS.map((t) => `"${t}"`).join(' or ')}`);
        return z.NEVER;
      }
      const { rules, issues } = parseRules(raw.rules, itemFieldsOf(heads));
      for (const i of issues) issue(['rules', ...i.path], i.message);
      return rules ? { heads, rules } : z.NEVER;
    });
}
