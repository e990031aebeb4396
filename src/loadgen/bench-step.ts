import type { Exchange, SocketPool } from './connection-pool.js';
import { summarise, type LatencySummary } from './latency-stats.js';
import { closedLoop, poissonLoad } from './load-loops.js';
import type { ProgressLine } from './progress-line.js';
import { serverTiming } from './server-timing.js';

/** One load step: closed loop at `concurrency` clients, or open loop at `rate` per second. */
export type StepLoad = { concurrency: number; rate?: undefined } | { rate: number; concurrency?: undefined };

export interface StepBudgets {
  p99Ms: number | undefined;
  minThroughput: number | undefined;
  maxErrorRate: number;
}

/** What one step measured (the JSON `steps[]` entry; NaN figures are written as null). */
export interface StepResult {
  label: string;
  concurrency: number | null;
  rate: number | null;
  /** From the first request sent to the last answer, seconds. */
  durationSec: number;
  requests: number;
  ok: number;
  failed: number;
  /** Answers by HTTP status; "0" counts requests with no answer (connection failed or timed out). */
  statuses: Record<string, number>;
  /** Requests answered 200 per second. */
  throughput: number;
  /** Client-side latency of the requests answered 200. */
  latencyMs: LatencySummary;
  /** The server's own split, from the answers' latencyMs (answered 200 only). */
  server: { queueMs: LatencySummary; inferMs: LatencySummary; totalMs: LatencySummary; meanBatchSize: number };
  budget: { passed: boolean; missed: string[] };
}

export const stepLabel = (load: StepLoad) => (load.rate === undefined ? `c=${load.concurrency}` : `rate=${load.rate}/s`);

/** Runs one step, with a progress line while it runs. */
export async function runStep(
  pool: SocketPool,
  request: Buffer,
  load: StepLoad,
  durationSec: number,
  budgets: StepBudgets,
  progress: ProgressLine,
): Promise<StepResult> {
  const label = stepLabel(load);
  let answered = 0;
  let failed = 0;
  const started = performance.now();
  const onExchange = (e: Exchange) => (e.status === 200 ? answered++ : failed++);
  const timer = setInterval(() => {
    const elapsed = (performance.now() - started) / 1000;
    progress.update(
      `${label}  ${Math.min(elapsed, durationSec).toFixed(1)}/${durationSec}s  ${answered} answered  ` +
        `${(answered / Math.max(elapsed, 0.001)).toFixed(1)} req/s  errors ${failed}`,
    );
  }, 250);
  let exchanges: Exchange[];
  let elapsedMs: number;
  try {
    if (load.rate === undefined) {
      const r = await closedLoop(pool, request, load.concurrency, durationSec * 1000, onExchange);
      exchanges = r.exchanges;
      elapsedMs = r.end - r.start;
    } else {
      const r = await poissonLoad(pool, request, () => load.rate, durationSec * 1000, onExchange);
      exchanges = r.exchanges;
      elapsedMs = performance.now() - r.start;
    }
  } finally {
    clearInterval(timer);
  }
  const result = summariseStep(label, load, exchanges, elapsedMs, budgets);
  progress.done(
    `${label}  done: ${result.ok} answered, ${result.throughput.toFixed(1)} req/s, p99 ${result.latencyMs.p99.toFixed(2)} ms, errors ${result.failed}`,
  );
  return result;
}

export function summariseStep(label: string, load: StepLoad, exchanges: Exchange[], elapsedMs: number, budgets: StepBudgets): StepResult {
  const statuses: Record<string, number> = {};
  const okLatencies: number[] = [];
  const queue: number[] = [];
  const infer: number[] = [];
  const total: number[] = [];
  let batchSum = 0;
  let batchCount = 0;
  for (const e of exchanges) {
    statuses[e.status] = (statuses[e.status] ?? 0) + 1;
    if (e.status !== 200) continue;
    okLatencies.push(e.latencyMs);
    const timing = serverTiming(e.body);
    if (timing === undefined) continue;
    queue.push(timing.queueMs);
    infer.push(timing.inferMs);
    total.push(timing.totalMs);
    if (timing.batchSize !== undefined) {
      batchSum += timing.batchSize;
      batchCount++;
    }
  }
  const ok = okLatencies.length;
  const requests = exchanges.length;
  const durationSec = elapsedMs / 1000;
  const throughput = durationSec > 0 ? ok / durationSec : 0;
  const latencyMs = summarise(okLatencies);
  const missed: string[] = [];
  if (ok === 0) missed.push('no request was answered 200');
  if (budgets.p99Ms !== undefined && !(latencyMs.p99 <= budgets.p99Ms)) missed.push(`p99 ${latencyMs.p99.toFixed(2)} ms > ${budgets.p99Ms} ms`);
  if (budgets.minThroughput !== undefined && !(throughput >= budgets.minThroughput))
    missed.push(`throughput ${throughput.toFixed(1)} req/s < ${budgets.minThroughput} req/s`);
  const errorRate = requests === 0 ? 0 : (requests - ok) / requests;
  if (errorRate > budgets.maxErrorRate)
    missed.push(`${requests - ok} of ${requests} requests failed (${(errorRate * 100).toFixed(2)}% > ${(budgets.maxErrorRate * 100).toFixed(2)}%)`);
  return {
    label,
    concurrency: load.concurrency ?? null,
    rate: load.rate ?? null,
    durationSec,
    requests,
    ok,
    failed: requests - ok,
    statuses,
    throughput,
    latencyMs,
    server: {
      queueMs: summarise(queue),
      inferMs: summarise(infer),
      totalMs: summarise(total),
      meanBatchSize: batchCount === 0 ? Number.NaN : batchSum / batchCount,
    },
    budget: { passed: missed.length === 0, missed },
  };
}
