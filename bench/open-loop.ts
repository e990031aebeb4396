import http from 'node:http';

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
 * connections would instead synchronise into bursts).
 */
export async function openLoop(options: { url: string; body: Buffer; contentType: string; rate: number; durationSec: number }): Promise<OpenLoopResult> {
  const url = new URL(options.url);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
  const latencies: number[] = [];
  let ok = 0;
  let failed = 0;
  let sent = 0;
  const inFlight = new Set<Promise<void>>();
  const start = performance.now();
  const end = start + options.durationSec * 1000;
  let next = start;
  while (next < end) {
    const wait = next - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    sent++;
    const t0 = performance.now();
    const p = new Promise<void>((resolve) => {
      const req = http.request(
        { host: url.hostname, port: url.port, path: url.pathname, method: 'POST', agent, headers: { 'content-type': options.contentType, 'content-length': options.body.length } },
        (res) => {
          res.resume();
          res.on('end', () => {
            latencies.push(performance.now() - t0);
            if (res.statusCode === 200) ok++;
            else failed++;
            resolve();
          });
        },
      );
      req.on('error', () => {
        failed++;
        resolve();
      });
      req.end(options.body);
    });
    inFlight.add(p);
    void p.then(() => inFlight.delete(p));
    next += (-Math.log(1 - Math.random()) / options.rate) * 1000;
  }
  await Promise.all(inFlight);
  const elapsed = (performance.now() - start) / 1000;
  agent.destroy();
  latencies.sort((a, b) => a - b);
  const pct = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? Number.NaN;
  return { sent, ok, failed, achievedRate: ok / elapsed, p50Ms: pct(0.5), p99Ms: pct(0.99) };
}
