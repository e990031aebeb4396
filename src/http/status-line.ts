import { STATUS_CODES } from 'node:http';

const cache = new Map<number, string>();

/** uWS wants the whole status line text ("404 Not Found"); built once per code. */
export function statusLine(status: number): string {
  let line = cache.get(status);
  if (!line) cache.set(status, (line = `${status} ${STATUS_CODES[status] ?? 'Unknown'}`));
  return line;
}
