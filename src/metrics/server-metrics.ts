import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { RequestMetrics } from './request-metrics.js';

/** Per-model queue figures read at scrape time. */
export interface ModelGauges {
  name: string;
  queueLength: number;
  inFlight: number;
}

const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const BATCH_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128];

/**
 * Every Prometheus instrument sightline exports, on a registry of its own (so several servers in
 * one process do not share counters). Components report through the small `observe*` methods.
 */
export class ServerMetrics {
  readonly registry = new Registry();
  /** sightline_http_requests_total and sightline_http_request_duration_seconds. */
  readonly httpRequests: RequestMetrics;
  readonly queueSeconds: Histogram<'model'>;
  readonly batchSize: Histogram<'model'>;
  readonly inferSeconds: Histogram<'model'>;
  readonly inferFailures: Counter<'model'>;
  readonly workerRestarts: Counter<'model'>;
  readonly wsDroppedSlow: Counter;
  readonly dbCommitSeconds: Histogram;
  readonly rateLimited: Counter<'route'>;

  constructor(
    sources: { models: () => ModelGauges[]; websockets: () => { connections: number; slowConsumersClosed: number } },
    /** Labels on every series, such as the replica, so one Prometheus tells replicas apart. */
    constantLabels: Record<string, string> = {},
  ) {
    const registers = [this.registry];
    this.registry.setDefaultLabels(constantLabels);
    collectDefaultMetrics({ register: this.registry, prefix: 'sightline_' });
    this.httpRequests = new RequestMetrics(
      this.registry,
      {
        counter: 'sightline_http_requests_total',
        counterHelp: 'HTTP requests by route, method and status',
        histogram: 'sightline_http_request_duration_seconds',
        histogramHelp: 'HTTP request duration',
      },
      LATENCY_BUCKETS,
    );
    this.queueSeconds = new Histogram({
      name: 'sightline_queue_duration_seconds',
      help: 'Time each image waited in the dynamic batch scheduler',
      labelNames: ['model'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.batchSize = new Histogram({
      name: 'sightline_batch_size',
      help: 'Size of each batch the engine ran',
      labelNames: ['model'],
      buckets: BATCH_BUCKETS,
      registers,
    });
    this.inferSeconds = new Histogram({
      name: 'sightline_inference_duration_seconds',
      help: 'Worker time per batch: tensor fill, ONNX Runtime, post-processing',
      labelNames: ['model'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.inferFailures = new Counter({ name: 'sightline_inference_failures_total', help: 'Batches that failed in a worker', labelNames: ['model'], registers });
    this.workerRestarts = new Counter({
      name: 'sightline_worker_restarts_total',
      help: 'Worker threads that died and were replaced',
      labelNames: ['model'],
      registers,
    });
    this.wsDroppedSlow = new Counter({
      name: 'sightline_ws_slow_consumers_closed_total',
      help: 'WebSocket clients closed for exceeding their backpressure limit',
      registers,
      // The hub keeps the running count; the counter mirrors it at scrape time.
      collect() {
        this.reset();
        this.inc(sources.websockets().slowConsumersClosed);
      },
    });
    this.dbCommitSeconds = new Histogram({
      name: 'sightline_db_commit_duration_seconds',
      help: 'Group-commit transaction latency',
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.rateLimited = new Counter({ name: 'sightline_rate_limited_total', help: 'Requests answered 429', labelNames: ['route'], registers });
    new Gauge({
      name: 'sightline_queue_length',
      help: 'Images waiting in each model queue',
      labelNames: ['model'],
      registers,
      collect() {
        this.reset();
        for (const m of sources.models()) this.set({ model: m.name }, m.queueLength);
      },
    });
    new Gauge({
      name: 'sightline_batches_in_flight',
      help: 'Batches running in each model pool',
      labelNames: ['model'],
      registers,
      collect() {
        this.reset();
        for (const m of sources.models()) this.set({ model: m.name }, m.inFlight);
      },
    });
    new Gauge({
      name: 'sightline_ws_connections',
      help: 'Open WebSocket connections',
      registers,
      collect() {
        this.set(sources.websockets().connections);
      },
    });
  }

  observeRequest(route: string, method: string, status: number, seconds: number): void {
    this.httpRequests.observe(route, method, status, seconds);
  }

  async render(): Promise<{ contentType: string; body: string }> {
    // prom-client writes NaN as "Nan"; the text format spells it "NaN" (strict parsers refuse the other).
    const body = (await this.registry.metrics()).replace(/ Nan$/gm, ' NaN');
    return { contentType: this.registry.contentType, body };
  }
}
