import { performance } from 'node:perf_hooks';
import WebSocket from 'ws';

export interface FanoutOptions {
  /** WebSocket URLs (`/v1/ws`) the subscribers connect to, in turn: one server, or each replica. */
  socketUrls: readonly string[];
  subscribers: number;
  /** Where detections are posted (`…/v1/detections`): the server, or the balancer. */
  postUrl: string;
  /** Timed events; ten more go first to warm up. */
  events: number;
}

export interface FanoutResult {
  subscribers: number;
  events: number;
  /** POST sent to the last subscriber's receipt. */
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** POST sent to its answer. */
  postP50Ms: number;
}

const quantile = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))];

/** WebSocket fan-out: one POST at a time, timed until every subscriber has the event. */
export async function measureFanout(options: FanoutOptions): Promise<FanoutResult> {
  const sockets: WebSocket[] = [];
  try {
    let received = 0;
    let target = 0;
    let reached: (() => void) | undefined;
    // Connected 100 at a time: a thousand handshakes at once would time out on 2 cores.
    for (let i = 0; i < options.subscribers; i += 100) {
      await Promise.all(
        Array.from({ length: Math.min(100, options.subscribers - i) }, async (_, j) => {
          const ws = new WebSocket(options.socketUrls[(i + j) % options.socketUrls.length]);
          sockets.push(ws);
          await new Promise((resolve, reject) => {
            ws.once('open', resolve);
            ws.once('error', reject);
          });
          const acked = new Promise((resolve) => ws.once('message', resolve));
          ws.send('{"type":"subscribe","topic":"detections"}');
          await acked;
          ws.on('message', () => {
            received++;
            if (received === target) reached?.();
          });
        }),
      );
    }
    const latencies: number[] = [];
    const posts: number[] = [];
    for (let i = 0; i < options.events + 10; i++) {
      target += options.subscribers;
      const all = new Promise<void>((resolve) => (reached = resolve));
      const t0 = performance.now();
      const res = await fetch(options.postUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ cameraId: 'fan', trackId: `f-${i}`, label: 'person', confidence: 0.8, detectedAt: Date.now() }),
      });
      const t1 = performance.now();
      if (res.status !== 201) throw new Error(`POST answered ${res.status}: ${(await res.text()).slice(0, 300)}`);
      await res.arrayBuffer();
      await all;
      // The first ten warm up.
      if (i >= 10) {
        latencies.push(performance.now() - t0);
        posts.push(t1 - t0);
      }
    }
    return {
      subscribers: options.subscribers,
      events: latencies.length,
      p50Ms: quantile(latencies, 0.5),
      p99Ms: quantile(latencies, 0.99),
      maxMs: Math.max(...latencies),
      postP50Ms: quantile(posts, 0.5),
    };
  } finally {
    for (const ws of sockets) ws.terminate();
  }
}
