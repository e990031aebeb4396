import type { EngineObserver } from '../engine/engine-observer.js';
import type { ServerMetrics } from './server-metrics.js';

/** Feeds engine events into the Prometheus instruments. */
export function engineMetrics(metrics: ServerMetrics): EngineObserver {
  return {
    queued: (model, seconds) => metrics.queueSeconds.observe({ model }, seconds),
    batch: (model, size, inferSeconds) => {
      metrics.batchSize.observe({ model }, size);
      metrics.inferSeconds.observe({ model }, inferSeconds);
    },
    failure: (model) => metrics.inferFailures.inc({ model }),
    workerRestart: (model) => metrics.workerRestarts.inc({ model }),
  };
}
