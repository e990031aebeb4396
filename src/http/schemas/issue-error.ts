import type { z } from 'zod';
import { badRequest, type SightlineError } from '../../errors.js';

/** `['detections', 3, 'confidence']` → `detections[3].confidence`. */
export function fieldPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out === '' ? String(key) : `.${String(key)}`;
  }
  return out;
}

/**
 * The 400 for the first problem zod found: `"<field>: <rule>"` with `field` in the error body, so a
 * client knows which field to fix. Schemas carry their own wording for every rule; an unknown key
 * names the key itself.
 */
export function issueError(issue: z.core.$ZodIssue): SightlineError {
  const path = issue.code === 'unrecognized_keys' ? [...issue.path, issue.keys[0]!] : issue.path;
  const field = fieldPath(path);
  if (field === '') return badRequest(issue.message);
  return badRequest(`${field}: ${issue.message}`, { field });
}
