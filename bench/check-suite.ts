/**
 * The benchmarks `npm run bench:check` runs, each with settings short enough that the whole suite
 * (every round) takes five to seven minutes on a 2-core machine. Every benchmark measures its
 * ratios side by side in its own run; the suite repeats the list over rounds, rotating the order,
 * and takes the median of each ratio.
 */
export interface SuiteEntry {
  /** Name of the compiled script under dist/bench (without .js); also the results file's name. */
  script: string;
  args?: string[];
  /** Settings of that benchmark for a short run. */
  env: Record<string, string>;
  /** A run that takes longer than this is stopped and its ratios count as not measured. */
  timeoutSec: number;
}

export const SUITE: readonly SuiteEntry[] = [
  { script: 'http', env: { BENCH_DURATION: '2' }, timeoutSec: 60 },
  { script: 'engine', env: { BENCH_DURATION: '1.5', BENCH_RAW_SECONDS: '0.5' }, timeoutSec: 120 },
  { script: 'polygons', env: { BENCH_TIME_SCALE: '0.4' }, timeoutSec: 90 },
  { script: 'ingest', env: { BENCH_DURATION: '2', BENCH_SUBSCRIBERS: '300', BENCH_FANOUT_EVENTS: '60' }, timeoutSec: 120 },
  {
    script: 'overload',
    env: { BENCH_SATURATED_SEC: '2', BENCH_HALF_SEC: '2', BENCH_OVERLOAD_SEC: '6', BENCH_RECOVERY_SEC: '4' },
    timeoutSec: 120,
  },
  { script: 'latency', env: { BENCH_ROUNDS: '1', BENCH_SECONDS: '1.5' }, timeoutSec: 150 },
  { script: 'pipelines', env: { BENCH_DURATION: '2', BENCH_ROUNDS: '2' }, timeoutSec: 90 },
];
