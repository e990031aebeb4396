import type { z } from 'zod';
import { type FieldProblem, invalidFields, type SightlineError, unsupportedMediaType } from '../../errors.js';

/** `['detections', 3, 'confidence']` → `detections[3].confidence`. */
export function fieldPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out === '' ? String(key) : `.${String(key)}`;
  }
  return out;
}

/** True when the value at `path` is absent from the input (a key not sent, or sent as undefined). */
function isMissing(input: unknown, path: readonly PropertyKey[]): boolean {
  let at: unknown = input;
  for (const key of path) {
    if (at === null || typeof at !== 'object') return false;
    if (!Object.hasOwn(at, key)) return true;
    at = (at as Record<PropertyKey, unknown>)[key];
  }
  return at === undefined;
}

/**
 * Every problem zod found, as `{field, message}`: schemas carry their own wording for each rule;
 * an unknown key is named itself (one problem per key), and a required field left out is said to
 * be missing, with the rule it has to meet.
 */
export function issueProblems(issues: readonly z.core.$ZodIssue[], input: unknown): FieldProblem[] {
  const problems: FieldProblem[] = [];
  for (const issue of issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) problems.push({ field: fieldPath([...issue.path, key]), message: issue.message });
      continue;
    }
    const missing = issue.path.length > 0 && isMissing(input, issue.path);
    problems.push({ field: fieldPath(issue.path), message: missing ? `missing: ${issue.message}` : issue.message });
  }
  return problems;
}

/**
 * The 400 for what zod found: every bad field at once (see `invalidFields`); 415 naming the field
 * when a value declares a media type the field does not take (a data URL of text/plain as an image).
 */
export function issuesError(issues: readonly z.core.$ZodIssue[], input: unknown): SightlineError {
  const unsupported = issues.find((i) => i.code === 'custom' && (i.params as { status?: number } | undefined)?.status === 415);
  if (unsupported !== undefined) {
    const field = fieldPath(unsupported.path);
    return unsupportedMediaType(`${field}: ${unsupported.message}`, { field });
  }
  return invalidFields(issueProblems(issues, input));
}
