import { ruleFieldIssues, type ItemFields, type RuleIssue } from './item-fields.js';
import { rulesSchema, type Rules } from './rules-schema.js';

export { applyRules, readField, type RuleItem, type RulesResult } from './apply-rules.js';
export { ruleFieldIssues, type ItemFieldKind, type ItemFields, type RuleIssue } from './item-fields.js';
export { RULE_NAME, rulesSchema, type AggregateRule, type FieldRule, type Range, type RuleValue, type Rules } from './rules-schema.js';

/**
 * Validates rules written in a manifest (or a pipeline step): their own shape first, then, when the
 * fields the items will hold are known, how the rules use them. Issue paths are inside the rules.
 */
export function parseRules(raw: unknown, fields?: ItemFields): { rules: Rules; issues: [] } | { rules: undefined; issues: RuleIssue[] } {
  const parsed = rulesSchema.safeParse(raw);
  if (!parsed.success) {
    return {
      rules: undefined,
      issues: parsed.error.issues.map((i) => ({ path: i.path.map((p) => (typeof p === 'symbol' ? String(p) : p)), message: i.message })),
    };
  }
  const issues = fields ? ruleFieldIssues(parsed.data, fields) : [];
  return issues.length > 0 ? { rules: undefined, issues } : { rules: parsed.data, issues: [] };
}
