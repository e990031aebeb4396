import { rawRequest, SocketPool } from '../src/loadgen/connection-pool.js';
import { quantile } from '../src/loadgen/latency-stats.js';
import { poissonLoad } from '../src/loadgen/load-loops.js';

export interface OpenLoopResult {
  sent: number;
  ok: number;
  failed: number;
  achievedRate: number;
  p50Ms: number;
  p99Ms: number;
}

/**
 * Open-loop load: requests start at Poisson-distributed times at `rate` per second, whether or not
 * earlier ones have finished, so latency is measured at that offered load (a closed loop of N
 * connections would instead synchronise into bursts). Latency counts from when a request was due.
 */
export async function openLoop(options: { url: string; body: Buffer; contentType: string; rate: number; durationSec: number }): Promise<OpenLoopResult> {
  const url = new URL(options.url);
  const port = Number(url.port || 80);
  const pool = new SocketPool(url.hostname, port, 256);
  const request = rawRequest('POST', url.pathname + url.search, url.host, options.body, options.contentType);
  try {
    const { start, exchanges } = await poissonLoad(pool, request, () => options.rate, options.durationSec * 1000);
    const elapsed = (performance.now() - start) / 1000;
    const ok = exchanges.filter((e) => e.status === 200);
    const latencies = exchanges.filter((e) => e.status !== 0).map((e) => e.latencyMs);
    return {
      sent: exchanges.length,
      ok: ok.length,
      failed: exchanges.length - ok.length,
      achievedRate: ok.length / elapsed,
      p50Ms: quantile(latencies, 0.5),
      p99Ms: quantile(latencies, 0.99),
    };
  } finally {
    pool.close();
  }
}
