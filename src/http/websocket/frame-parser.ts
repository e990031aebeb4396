import type { z } from 'zod';
import { fieldPath } from '../schemas/issue-error.js';

/** Why a text frame was refused; sent back as an `error` frame and the connection stays open. */
export interface FrameError {
  code: 'bad_json' | 'bad_message';
  message: string;
}

export type FrameParse<T> = { ok: true; value: T } | { ok: false; error: FrameError };

/**
 * Reads one JSON text frame with its schema. A frame gets one error frame, so one problem is
 * named: an unknown field first (a misspelt name usually explains the rest), otherwise the first
 * one zod found, after the field it concerns.
 */
export function parseFrame<S extends z.ZodType>(schema: S, text: string, frameName: string): FrameParse<z.output<S>> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return { ok: false, error: { code: 'bad_json', message: `${frameName} is not valid JSON: ${(err as Error).message}` } };
  }
  const result = schema.safeParse(value);
  if (result.success) return { ok: true, value: result.data };
  const issues = result.error.issues;
  const issue = issues.find((i) => i.code === 'unrecognized_keys') ?? issues[0];
  const field = fieldPath(issue.path);
  return { ok: false, error: { code: 'bad_message', message: field === '' ? issue.message : `${field} ${issue.message}` } };
}
