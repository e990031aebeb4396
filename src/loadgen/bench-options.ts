import { flagValues, serverUrl, UsageError } from '../command-arguments.js';

/** `sightline bench` arguments, parsed and checked before anything is sent. */
export interface BenchOptions {
  /** Server origin and any path prefix, e.g. http://127.0.0.1:8080. */
  url: URL;
  model: string;
  image: string;
  /** Closed loop, one step per entry; empty when `rate` is set. */
  concurrency: number[];
  /** Open loop (Poisson arrivals) at this many requests per second. */
  rate: number | undefined;
  durationSec: number;
  warmupSec: number;
  timeoutSec: number;
  p99Ms: number | undefined;
  minThroughput: number | undefined;
  maxErrorRate: number;
  json: string | undefined;
  apiKey: string | undefined;
}

export const BENCH_USAGE = `Usage: sightline bench --url URL --model NAME --image FILE [options]

Sends one image to a running sightline's POST /v1/models/NAME/predict and reports throughput,
client latency and the server's own queue/infer split (from each answer's latencyMs).
Closed loop: each of N clients sends its next request when its last one is answered, one step
per --concurrency entry. Open loop: requests arrive at --rate per second (Poisson) whatever the
answers do. Exit status: 0 when every budget holds, 1 when one is missed, 2 on bad arguments or
when the first request is not answered 200 (wrong URL, model or image).

Options:
  --url URL              the server, e.g. http://127.0.0.1:8080 (http only; a path prefix is kept)
  --model NAME           model to predict with
  --image FILE           image file sent as the request body (its type is read from its bytes)
  --concurrency LIST     closed-loop clients per step, comma-separated (default 1)
  --rate N               open loop at N requests/s instead of --concurrency
  --duration TIME        length of each step: 10s, 500ms, 2m, or seconds (default 10s)
  --warmup TIME          unmeasured load before the first step (default 1s; 0 for none)
  --timeout TIME         a request unanswered for this long counts as failed (default 30s)
  --p99-ms N             budget: p99 client latency of every step at most N ms
  --min-throughput N     budget: every step answers at least N requests/s with 200
  --max-error-rate F     budget: at most this fraction of a step's requests may fail (default 0)
  --api-key KEY          sent as X-API-Key (or set SIGHTLINE_BENCH_API_KEY)
  --json FILE            also write the results as JSON to FILE
  --help                 print this help`;

const FLAGS = new Set([
  '--url',
  '--model',
  '--image',
  '--concurrency',
  '--rate',
  '--duration',
  '--warmup',
  '--timeout',
  '--p99-ms',
  '--min-throughput',
  '--max-error-rate',
  '--api-key',
  '--json',
]);

/** 10s, 500ms, 2m or plain seconds → seconds. */
export function parseDuration(flag: string, text: string, allowZero = false): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(text.trim());
  // Divided, not multiplied by 0.001, so 700ms is exactly 0.7 s.
  const value = m ? (m[2] === 'ms' ? Number(m[1]) / 1000 : Number(m[1]) * (m[2] === 'm' ? 60 : 1)) : Number.NaN;
  if (!Number.isFinite(value) || value < 0 || (!allowZero && value === 0)) {
    throw new UsageError(`${flag}: expected a duration such as 10s, 500ms or 2m, got ${JSON.stringify(text)}`);
  }
  return value;
}

function positive(flag: string, text: string): number {
  const v = Number(text);
  if (text.trim() === '' || !Number.isFinite(v) || v <= 0) throw new UsageError(`${flag}: expected a positive number, got ${JSON.stringify(text)}`);
  return v;
}

function parseConcurrency(text: string): number[] {
  const levels = text.split(',').map((part) => {
    const v = Number(part.trim());
    if (part.trim() === '' || !Number.isInteger(v) || v < 1 || v > 4096) {
      throw new UsageError(`--concurrency: expected whole numbers from 1 to 4096, comma-separated, got ${JSON.stringify(text)}`);
    }
    return v;
  });
  return levels;
}

/** Parses `sightline bench` arguments; throws UsageError for anything wrong or missing. */
export function parseBenchArgs(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): BenchOptions {
  const values = flagValues(argv, FLAGS);
  const required = (flag: string) => {
    const v = values.get(flag);
    if (v === undefined || v.trim() === '') throw new UsageError(`${flag} is required`);
    return v;
  };
  const url = serverUrl(required('--url'), ['http:'], (p) => `only http:// is supported (got ${p}); measure behind TLS termination from its inside`);
  const model = required('--model');
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(model)) throw new UsageError(`--model: not a model name: ${JSON.stringify(model)}`);
  const image = required('--image');
  const rateText = values.get('--rate');
  const concurrencyText = values.get('--concurrency');
  if (rateText !== undefined && concurrencyText !== undefined) throw new UsageError('give --concurrency (closed loop) or --rate (open loop), not both');
  const rate = rateText === undefined ? undefined : positive('--rate', rateText);
  const maxErrorRateText = values.get('--max-error-rate');
  const maxErrorRate = maxErrorRateText === undefined ? 0 : Number(maxErrorRateText);
  if (maxErrorRateText !== undefined && (maxErrorRateText.trim() === '' || !(maxErrorRate >= 0 && maxErrorRate <= 1))) {
    throw new UsageError(`--max-error-rate: expected a fraction from 0 to 1, got ${JSON.stringify(maxErrorRateText)}`);
  }
  const optional = (flag: string) => {
    const v = values.get(flag);
    return v === undefined ? undefined : positive(flag, v);
  };
  return {
    url,
    model,
    image,
    concurrency: rate === undefined ? parseConcurrency(concurrencyText ?? '1') : [],
    rate,
    durationSec: parseDuration('--duration', values.get('--duration') ?? '10s'),
    warmupSec: parseDuration('--warmup', values.get('--warmup') ?? '1s', true),
    timeoutSec: parseDuration('--timeout', values.get('--timeout') ?? '30s'),
    p99Ms: optional('--p99-ms'),
    minThroughput: optional('--min-throughput'),
    maxErrorRate,
    json: values.get('--json'),
    apiKey: values.get('--api-key') ?? (env.SIGHTLINE_BENCH_API_KEY || undefined),
  };
}
