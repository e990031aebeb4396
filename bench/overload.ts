import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { runLoad, startTarget } from './load.js';
import { writeResults } from './results-file.js';
import { SocketPool, poissonLoad, quantile, rawRequest, type Exchange } from './socket-client.js';

/**
 * Overload: the direction classifier served as shipped (models/text-direction), a 192×48 PNG text
 * line per request, the server in its own process.
 *  1. saturated throughput, closed loop (autocannon, BENCH_CONNECTIONS, default 32), measured before
 *     and again after the overload and averaged, so that a machine whose other load drifts during
 *     the run does not skew the goodput ratio one way;
 *  2. latency at half of it, open loop (Poisson arrivals);
 *  3. open loop at BENCH_OVERLOAD_FACTOR (default 3) × saturation for BENCH_OVERLOAD_SEC (default 15):
 *     goodput (200s per second) and the latency of the answered requests, with GET /health/live
 *     probed every 100 ms throughout;
 *  4. straight after, half load again for BENCH_RECOVERY_SEC (default 6): how long until latency is
 *     back to its half-load level.
 * Writes bench/results/overload.json for `npm run bench:check`.
 */
const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..', '..');
const connections = Number(process.env.BENCH_CONNECTIONS ?? 32);
const saturatedSec = Number(process.env.BENCH_SATURATED_SEC ?? 5);
const halfSec = Number(process.env.BENCH_HALF_SEC ?? 5);
const overloadFactor = Number(process.env.BENCH_OVERLOAD_FACTOR ?? 3);
const overloadSec = Number(process.env.BENCH_OVERLOAD_SEC ?? 15);
const recoverySec = Number(process.env.BENCH_RECOVERY_SEC ?? 6);
const PROBE_EVERY_MS = 100;
/** A probe slower than this counts as unanswered: a load balancer would have marked the server down. */
const PROBE_TIMEOUT_MS = 1000;
const RECOVERY_WINDOW_MS = 500;
/** Latency counts as back to baseline once a window's p99 is within this factor of the half-load p99. */
const RECOVERED_FACTOR = 2;
/** The recovery figure is reported at this resolution: a 0 s recovery would make the ratio infinite. */
const MIN_RECOVERY_SEC = RECOVERY_WINDOW_MS / 1000;

const svg =
  `<svg xmlns="http://www.w3.org/2000/svg" width="192" height="48"><rect width="100%" height="100%" fill="white"/><text x="6" ` +
  `y="33" font-family="DejaVu Sans" font-size="22">Invoice 2026-11</text></svg>`;
const body = await sharp(Buffer.from(svg)).png().toBuffer();

const dataDir = mkdtempSync(path.join(os.tmpdir(), 'sightline-overload-'));
const server = await startTarget(path.join(here, 'engine-target.js'), [], {
  SIGHTLINE_MODELS_DIR: path.join(root, 'models'),
  SIGHTLINE_MODELS: 'text-direction',
  SIGHTLINE_DATA_DIR: dataDir,
});
const host = '127.0.0.1';
const base = `http://${host}:${server.port}`;
const predictPath = '/v1/models/text-direction/predict';
const predictRequest = rawRequest('POST', predictPath, `${host}:${server.port}`, body, 'image/png');
const healthRequest = rawRequest('GET', '/health/live', `${host}:${server.port}`);
const pool = new SocketPool(host, server.port);
const probes = new SocketPool(host, server.port, 64);

const schedule = (rateAt: (elapsedMs: number) => number, totalMs: number) => poissonLoad(pool, predictRequest, rateAt, totalMs);

function summary(exchanges: Exchange[], seconds: number) {
  const ok = exchanges.filter((e) => e.status === 200).map((e) => e.latencyMs);
  const statuses: Record<string, number> = {};
  for (const e of exchanges) statuses[e.status] = (statuses[e.status] ?? 0) + 1;
  return {
    offered: exchanges.length / seconds,
    goodput: ok.length / seconds,
    p50Ms: quantile(ok, 0.5),
    p99Ms: quantile(ok, 0.99),
    maxMs: quantile(ok, 1),
    statuses,
  };
}

type Statistics = Record<string, number | null> & { batchSizeHistogram: Record<string, number> };
const modelStatistics = async () => ((await (await fetch(`${base}/v1/models/text-direction`)).json()) as { statistics: Statistics }).statistics;

/** What the model did during the overload and recovery: counters and batch sizes since `before`. */
function statisticsDelta(before: Statistics, after: Statistics) {
  const counters = ['succeeded', 'rejectedQueueFull', 'rejectedWaitBudget', 'rejectedTimeout'] as const;
  const delta: Record<string, unknown> = Object.fromEntries(counters.map((k) => [k, (after[k] ?? 0) - (before[k] ?? 0)]));
  const sizes: Record<string, number> = {};
  for (const [size, n] of Object.entries(after.batchSizeHistogram)) {
    const d = n - (before.batchSizeHistogram[size] ?? 0);
    if (d > 0) sizes[size] = d;
  }
  return { ...delta, batchSizeHistogram: sizes, throughputPerSecAtEnd: after.throughputPerSec };
}

const cpu = () => ({ server: server.cpuSeconds(), loadGen: process.cpuUsage(), at: performance.now() });
const cpuSince = (c0: ReturnType<typeof cpu>) => {
  const wall = (performance.now() - c0.at) / 1000;
  const gen = process.cpuUsage(c0.loadGen);
  return { server: (server.cpuSeconds() - c0.server) / wall, loadGen: (gen.user + gen.system) / 1e6 / wall };
};

try {
  const predict = (durationSec: number) =>
    runLoad({ url: `${base}${predictPath}`, method: 'POST', body, headers: { 'content-type': 'image/png' }, connections, durationSec });
  // Answered requests only: a fast 503 must not count as capacity.
  const answeredRate = (r: Awaited<ReturnType<typeof predict>>) => (r.total - r.non2xx - r.errors) / saturatedSec;
  await predict(3);
  const c0 = cpu();
  const saturated = await predict(saturatedSec);
  const saturatedCpu = cpuSince(c0);
  const satBefore = answeredRate(saturated);
  let satRate = satBefore;
  const halfRate = satRate / 2;
  const overRate = satRate * overloadFactor;
  console.log(
    `saturated (closed loop, ${connections} connections): ${satBefore.toFixed(0)} req/s  p50 ${saturated.p50Ms} ms  p99 ${saturated.p99Ms} ` +
      `ms  non-2xx ${saturated.non2xx}  server CPU ${(saturatedCpu.server * 100).toFixed(0)}%`,
  );

  const halfRun = await schedule(() => halfRate, halfSec * 1000);
  const half = summary(halfRun.exchanges, halfSec);
  console.log(
    `half load (open loop ${halfRate.toFixed(0)} req/s): p50 ${half.p50Ms.toFixed(1)} ms  p99 ${half.p99Ms.toFixed(1)} ms  statuses ` +
      `${JSON.stringify(half.statuses)}`,
  );
  await new Promise((r) => setTimeout(r, 1000));

  const statsBefore = await modelStatistics();
  // Overload then half load in one schedule, so recovery is measured from the moment the overload stops.
  const probeResults: Promise<Exchange>[] = [];
  const probeTimer = setInterval(() => probeResults.push(probes.request(healthRequest)), PROBE_EVERY_MS);
  const c1 = cpu();
  let overloadCpu: ReturnType<typeof cpuSince> | undefined;
  const overMs = overloadSec * 1000;
  const cpuTimer = setTimeout(() => (overloadCpu = cpuSince(c1)), overMs);
  const run = await schedule((t) => (t < overMs ? overRate : halfRate), overMs + recoverySec * 1000);
  clearInterval(probeTimer);
  clearTimeout(cpuTimer);
  const statistics = statisticsDelta(statsBefore, await modelStatistics());
  const probed = await Promise.all(probeResults);

  await new Promise((r) => setTimeout(r, 500));
  const saturatedAfter = await predict(saturatedSec);
  const satAfter = answeredRate(saturatedAfter);
  satRate = (satBefore + satAfter) / 2;
  console.log(`saturated again after the overload: ${satAfter.toFixed(0)} req/s (non-2xx ${saturatedAfter.non2xx}); mean ${satRate.toFixed(0)} req/s`);

  const overExchanges = run.exchanges.filter((e) => e.startMs - run.start < overMs);
  const over = summary(overExchanges, overloadSec);
  const afterStart = run.start + overMs;
  const windows: { fromMs: number; n: number; p99Ms: number; refused: number }[] = [];
  for (let from = 0; from < recoverySec * 1000; from += RECOVERY_WINDOW_MS) {
    const inWindow = run.exchanges.filter((e) => e.startMs >= afterStart + from && e.startMs < afterStart + from + RECOVERY_WINDOW_MS);
    const ok = inWindow.filter((e) => e.status === 200).map((e) => e.latencyMs);
    windows.push({ fromMs: from, n: inWindow.length, p99Ms: quantile(ok, 0.99), refused: inWindow.length - ok.length });
  }
  const baseline = RECOVERED_FACTOR * half.p99Ms;
  let recoveredAtMs = 0;
  for (const w of windows) {
    if (w.refused > 0 || !(w.p99Ms <= baseline)) recoveredAtMs = w.fromMs + RECOVERY_WINDOW_MS;
  }
  const unanswered = probed.filter((p) => p.status !== 200 || p.latencyMs > PROBE_TIMEOUT_MS).length;
  const health = {
    probes: probed.length,
    unanswered,
    p99Ms: quantile(
      probed.map((p) => p.latencyMs),
      0.99,
    ),
    maxMs: quantile(
      probed.map((p) => p.latencyMs),
      1,
    ),
  };

  console.log(
    `overload (open loop ${overRate.toFixed(0)} req/s offered, ${overloadSec}s): offered ${over.offered.toFixed(0)}/s  goodput ` +
      `${over.goodput.toFixed(0)}/s  answered p50 ${over.p50Ms.toFixed(1)} ms  p99 ${over.p99Ms.toFixed(1)} ms  max ` +
      `${over.maxMs.toFixed(1)} ms  statuses ${JSON.stringify(over.statuses)}`,
  );
  // Served requests per server CPU-second, overload over saturation: what the refusals cost,
  // apart from how much CPU the machine's other load left the server.
  const servedPerCpu = over.goodput / (overloadCpu?.server ?? Number.NaN) / (satBefore / saturatedCpu.server);
  console.log(`  served per server CPU-second, over saturation's: ${servedPerCpu.toFixed(2)}`);
  console.log(
    `  server CPU ${((overloadCpu?.server ?? Number.NaN) * 100).toFixed(0)}%  load-gen CPU ` +
      `${((overloadCpu?.loadGen ?? Number.NaN) * 100).toFixed(0)}%  connections opened ${pool.open}`,
  );
  console.log(`  model during overload and recovery: ${JSON.stringify(statistics)}`);
  console.log(
    `/health/live every ${PROBE_EVERY_MS} ms: ${health.probes} probes, ${unanswered} unanswered within ${PROBE_TIMEOUT_MS} ms, p99 ` +
      `${health.p99Ms.toFixed(1)} ms, max ${health.maxMs.toFixed(1)} ms`,
  );
  console.log(
    `recovery (half load after the overload, ${RECOVERY_WINDOW_MS} ms windows, p99 ≤ ${baseline.toFixed(1)} ms and nothing refused): back ` +
      `after ${recoveredAtMs} ms`,
  );
  console.log(`  windows p99: ${windows.map((w) => `${w.p99Ms.toFixed(0)}${w.refused ? `(${w.refused} refused)` : ''}`).join(' ')}`);

  const ratios = {
    'overload.goodput_over_saturated': over.goodput / satRate,
    'overload.admitted_p99_budget': 5 / (over.p99Ms / half.p99Ms),
    'overload.health_live_answered': (health.probes - unanswered) / Math.max(1, health.probes),
    'overload.recovery_budget': 5 / Math.max(MIN_RECOVERY_SEC, recoveredAtMs / 1000),
  };
  for (const [k, v] of Object.entries(ratios)) console.log(`${k} = ${v.toFixed(2)}`);
  const file = writeResults('overload', {
    ratios,
    connections,
    saturated: {
      ...saturated,
      cpu: saturatedCpu,
      answeredPerSec: satBefore,
      after: saturatedAfter,
      afterAnsweredPerSec: satAfter,
      meanAnsweredPerSec: satRate,
    },
    half: { rate: halfRate, ...half },
    overload: { rate: overRate, seconds: overloadSec, ...over, cpu: overloadCpu, servedPerCpuOverSaturated: servedPerCpu, statistics },
    health,
    recovery: { recoveredAtMs, baselineMs: baseline, windows },
  });
  console.log(`wrote ${file}`);
} finally {
  pool.close();
  probes.close();
  await server.stop();
  rmSync(dataDir, { recursive: true, force: true });
}
