import { badRequest } from '../errors.js';

/** Serialises a JSON column value; undefined and null are stored as SQL NULL. */
export function toJsonText(value: unknown, field: string): string | null {
  if (value === undefined || value === null) return null;
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch (err) {
    throw badRequest(`${field} is not serialisable as JSON: ${(err as Error).message}`, { field });
  }
  // JSON.stringify returns undefined for functions and symbols.
  if (text === undefined) throw badRequest(`${field} is not serialisable as JSON`, { field });
  return text;
}

export function fromJsonText(text: string | null): unknown {
  return text === null ? null : JSON.parse(text);
}
