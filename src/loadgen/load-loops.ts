import type { Exchange, SocketPool } from './connection-pool.js';

/** Called once per settled exchange, in completion order (progress lines, live counters). */
export type ExchangeListener = (e: Exchange) => void;

/**
 * Open-loop Poisson arrivals whose rate (per second) follows `rateAt(ms since start)`, for
 * `totalMs`: requests start on schedule whether or not earlier ones have answered. Resolves with
 * every exchange once all have settled, and the schedule's start on the same clock.
 */
export async function poissonLoad(
  pool: SocketPool,
  request: Buffer,
  rateAt: (elapsedMs: number) => number,
  totalMs: number,
  onExchange?: ExchangeListener,
): Promise<{ start: number; exchanges: Exchange[] }> {
  const out: Promise<Exchange>[] = [];
  const start = performance.now();
  const end = start + totalMs;
  let next = start;
  const send = (at: number) => {
    const p = pool.request(request, at);
    out.push(onExchange ? p.then((e) => (onExchange(e), e)) : p);
  };
  while (next < end) {
    const now = performance.now();
    if (next > now) {
      await new Promise((r) => setTimeout(r, next - now));
      continue;
    }
    // Every arrival that fell due while the timer slept goes now, timed from when it was due.
    while (next <= performance.now() && next < end) {
      send(next);
      next += (-Math.log(1 - Math.random()) / rateAt(next - start)) * 1000;
    }
  }
  return { start, exchanges: await Promise.all(out) };
}

/** A failed connection is retried after this pause, so a server that is down is not spun against. */
const RETRY_PAUSE_MS = 10;

/**
 * Closed loop: `clients` clients, each sending its next request as soon as its last one is
 * answered, for `totalMs`; requests in flight at the end are waited for. Resolves with every
 * exchange and the loop's start and end (the last answer) on the generator's clock.
 */
export async function closedLoop(
  pool: SocketPool,
  request: Buffer,
  clients: number,
  totalMs: number,
  onExchange?: ExchangeListener,
): Promise<{ start: number; end: number; exchanges: Exchange[] }> {
  const exchanges: Exchange[] = [];
  const start = performance.now();
  const until = start + totalMs;
  const client = async () => {
    while (performance.now() < until) {
      const e = await pool.request(request);
      exchanges.push(e);
      onExchange?.(e);
      if (e.status === 0) await new Promise((r) => setTimeout(r, RETRY_PAUSE_MS));
    }
  };
  await Promise.all(Array.from({ length: clients }, client));
  return { start, end: performance.now(), exchanges };
}
