import type { StepBudgets, StepResult } from './bench-step.js';

const num = (v: number, digits: number) => (Number.isFinite(v) ? v.toFixed(digits) : '-');

const COLUMNS: { title: string; width: number; value: (s: StepResult) => string }[] = [
  { title: 'load', width: 12, value: (s) => s.label },
  { title: 'requests', width: 9, value: (s) => String(s.requests) },
  { title: 'errors', width: 7, value: (s) => String(s.failed) },
  { title: 'req/s', width: 9, value: (s) => num(s.throughput, 1) },
  { title: 'p50 ms', width: 9, value: (s) => num(s.latencyMs.p50, 2) },
  { title: 'p90 ms', width: 9, value: (s) => num(s.latencyMs.p90, 2) },
  { title: 'p99 ms', width: 9, value: (s) => num(s.latencyMs.p99, 2) },
  { title: 'queue p50', width: 10, value: (s) => num(s.server.queueMs.p50, 2) },
  { title: 'queue p99', width: 10, value: (s) => num(s.server.queueMs.p99, 2) },
  { title: 'infer p50', width: 10, value: (s) => num(s.server.inferMs.p50, 2) },
  { title: 'server p50', width: 11, value: (s) => num(s.server.totalMs.p50, 2) },
  { title: 'batch', width: 6, value: (s) => num(s.server.meanBatchSize, 1) },
];

/**
 * The results table: client throughput and latency, then the server's own figures from the
 * answers (queue wait and inference, ms; server total; mean batch size), one row per step.
 */
export function resultsTable(steps: readonly StepResult[]): string {
  const row = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(COLUMNS[i].width) : c.padStart(COLUMNS[i].width))).join(' ');
  return [row(COLUMNS.map((c) => c.title)), ...steps.map((s) => row(COLUMNS.map((c) => c.value(s))))].join('\n');
}

/** One line per budget verdict: what was asked, and which steps missed it. */
export function budgetLines(steps: readonly StepResult[], budgets: StepBudgets): string[] {
  const asked = [
    budgets.p99Ms !== undefined ? `p99 ≤ ${budgets.p99Ms} ms` : undefined,
    budgets.minThroughput !== undefined ? `throughput ≥ ${budgets.minThroughput} req/s` : undefined,
    `errors ≤ ${(budgets.maxErrorRate * 100).toFixed(2)}%`,
  ].filter((b): b is string => b !== undefined);
  const missed = steps.filter((s) => !s.budget.passed);
  if (missed.length === 0) return [`budgets (${asked.join(', ')}): met`];
  return [`budgets (${asked.join(', ')}): MISSED`, ...missed.map((s) => `  ${s.label}: ${s.budget.missed.join('; ')}`)];
}
