import type { Metric, Registry } from 'prom-client';

/** One (route, method) pair: its duration histogram and its counts per status. */
interface RouteMethodSeries {
  readonly labels: { route: string; method: string };
  /** Observations per bucket (not cumulative); the last slot is past the largest bound. */
  readonly buckets: number[];
  sum: number;
  count: number;
  readonly byStatus: Map<number, StatusSeries>;
}

interface StatusSeries {
  readonly labels: { route: string; method: string; status: string };
  count: number;
}

/** A sample as prom-client's registry formats it (`sharedLabels` come after `labels`). */
interface Sample {
  labels: Record<string, string | number>;
  sharedLabels?: Record<string, string>;
  value: number;
  metricName?: string;
}

/**
 * The HTTP request counter and duration histogram, kept as plain numbers per (route, method,
 * status) and turned into Prometheus samples only when scraped. prom-client's own instruments
 * hash and validate the label set on every observation (their `labels()` children too), which
 * is a large part of what a cheap request costs; here a request costs three Map lookups. The
 * exposition is the one prom-client's Counter and Histogram give for the same figures.
 */
export class RequestMetrics {
  private readonly routes = new Map<string, Map<string, RouteMethodSeries>>();
  private readonly bounds: readonly number[];

  constructor(registry: Registry, names: { counter: string; counterHelp: string; histogram: string; histogramHelp: string }, bounds: readonly number[]) {
    this.bounds = [...bounds].sort((a, b) => a - b);
    // Objects with a metric's shape (name, help, type, get, reset) are what the registry renders.
    registry.registerMetric(this.metric(names.counter, names.counterHelp, 'counter', () => this.counterSamples()));
    registry.registerMetric(this.metric(names.histogram, names.histogramHelp, 'histogram', () => this.histogramSamples(names.histogram)));
  }

  observe(route: string, method: string, status: number, seconds: number): void {
    let methods = this.routes.get(route);
    if (methods === undefined) this.routes.set(route, (methods = new Map<string, RouteMethodSeries>()));
    let series = methods.get(method);
    if (series === undefined) {
      series = { labels: { route, method }, buckets: new Array<number>(this.bounds.length + 1).fill(0), sum: 0, count: 0, byStatus: new Map() };
      methods.set(method, series);
    }
    let statusSeries = series.byStatus.get(status);
    if (statusSeries === undefined) {
      statusSeries = { labels: { route, method, status: String(status) }, count: 0 };
      series.byStatus.set(status, statusSeries);
    }
    statusSeries.count++;
    const bounds = this.bounds;
    let i = 0;
    while (i < bounds.length && seconds > bounds[i]) i++;
    series.buckets[i]++;
    series.sum += seconds;
    series.count++;
  }

  /** Forgets every figure (what a registry's resetMetrics asks of each metric). */
  reset(): void {
    this.routes.clear();
  }

  private metric(name: string, help: string, type: 'counter' | 'histogram', values: () => Sample[]): Metric {
    const get = () => Promise.resolve({ name, help, type, aggregator: 'sum', values: values() });
    return { name, help, type, aggregator: 'sum', get, reset: () => this.reset() } as unknown as Metric;
  }

  private *allSeries(): Generator<RouteMethodSeries> {
    for (const methods of this.routes.values()) yield* methods.values();
  }

  private counterSamples(): Sample[] {
    const out: Sample[] = [];
    for (const series of this.allSeries()) for (const s of series.byStatus.values()) out.push({ labels: s.labels, value: s.count });
    return out;
  }

  private histogramSamples(name: string): Sample[] {
    const out: Sample[] = [];
    const bucket = `${name}_bucket`;
    for (const series of this.allSeries()) {
      let cumulative = 0;
      this.bounds.forEach((le, i) => {
        cumulative += series.buckets[i];
        out.push({ labels: { le }, sharedLabels: series.labels, value: cumulative, metricName: bucket });
      });
      out.push({ labels: { le: '+Inf' }, sharedLabels: series.labels, value: series.count, metricName: bucket });
      out.push({ labels: {}, sharedLabels: series.labels, value: series.sum, metricName: `${name}_sum` });
      out.push({ labels: {}, sharedLabels: series.labels, value: series.count, metricName: `${name}_count` });
    }
    return out;
  }
}
