/** Level numbers pino writes, as shown on a terminal (padded to one width). */
const LEVELS: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO ', 40: 'WARN ', 50: 'ERROR', 60: 'FATAL' };
const COLOURS: Record<number, string> = { 10: '90', 20: '36', 30: '32', 40: '33', 50: '31', 60: '35' };
/** Fields every line has, or that the layout already shows. */
const SKIPPED = new Set(['level', 'time', 'msg', 'service', 'pid', 'hostname', 'err']);

const pad = (n: number) => String(n).padStart(2, '0');

function value(v: unknown): string {
  if (typeof v === 'string') return /^[^\s"=]+$/.test(v) ? v : JSON.stringify(v);
  if (typeof v === 'object' && v !== null) return JSON.stringify(v);
  return String(v);
}

/**
 * One pino JSON line as `HH:MM:SS LEVEL msg key=value…` for people reading a terminal; an error's
 * stack follows on indented lines. A line that is not JSON passes through unchanged.
 */
export function formatLogLine(line: string, options: { colour: boolean }): string {
  let record: Record<string, unknown>;
  try {
    record = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line;
  }
  const at = typeof record.time === 'string' || typeof record.time === 'number' ? new Date(record.time) : new Date();
  const level = typeof record.level === 'number' ? record.level : 30;
  const label = LEVELS[level] ?? String(level).padEnd(5);
  const parts = [
    `${pad(at.getHours())}:${pad(at.getMinutes())}:${pad(at.getSeconds())}`,
    options.colour ? `\x1b[${COLOURS[level] ?? '0'}m${label}\x1b[0m` : label,
  ];
  if (typeof record.msg === 'string') parts.push(record.msg);
  for (const [key, v] of Object.entries(record)) {
    if (!SKIPPED.has(key) && v !== undefined) parts.push(`${key}=${value(v)}`);
  }
  let out = parts.join(' ');
  const err = record.err as { message?: unknown; stack?: unknown } | undefined;
  if (err !== undefined && err !== null) {
    out += ` err=${value(err.message ?? err)}`;
    if (typeof err.stack === 'string') out += `\n    ${err.stack.split('\n').join('\n    ')}`;
  }
  return `${out}\n`;
}
