/** What the server says about one answer: its `latencyMs` split and the batch the image ran in. */
export interface ServerTiming {
  queueMs: number;
  inferMs: number;
  totalMs: number;
  batchSize: number | undefined;
}

const LATENCY_KEY = '"latencyMs":';
const BATCH_SIZE = /"batchSize":(\d+)/g;

/**
 * Reads `latencyMs` (and `batchSize`) from a predict answer without parsing the whole body: a
 * detector's answer carries thousands of polygon points, and the load generator shares the
 * machine with the server it measures. Both are top-level fields that follow the head's value,
 * so the last occurrence is the server's own. Undefined when the body has no such field.
 */
export function serverTiming(body: Buffer | undefined): ServerTiming | undefined {
  if (body === undefined) return undefined;
  const text = body.toString('latin1');
  const at = text.lastIndexOf(LATENCY_KEY);
  if (at < 0) return undefined;
  const end = text.indexOf('}', at);
  if (end < 0) return undefined;
  let latency: Partial<Record<'queueMs' | 'inferMs' | 'totalMs', unknown>>;
  try {
    latency = JSON.parse(text.slice(at + LATENCY_KEY.length, end + 1)) as typeof latency;
  } catch {
    return undefined;
  }
  const num = (v: unknown) => (typeof v === 'number' ? v : Number.NaN);
  let batchSize: number | undefined;
  for (const m of text.matchAll(BATCH_SIZE)) batchSize = Number(m[1]);
  return { queueMs: num(latency.queueMs), inferMs: num(latency.inferMs), totalMs: num(latency.totalMs), batchSize };
}
