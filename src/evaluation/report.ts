import type { DatasetProblem, Layout } from './dataset.js';
import type { ScoreOptions, TaskMetrics } from './scorers.js';

/** p50, p99, mean and max of per-image times (ms); null without images. */
export interface TimeQuantiles {
  p50: number | null;
  p99: number | null;
  mean: number | null;
  max: number | null;
}

/** What a succeeded evaluation stores: the task's metrics with what they were measured on. */
export interface EvaluationReport {
  model: { name: string; task: string; version: number | null; versionAtEnd: number | null; reloaded: boolean };
  dataset: { name: string; source: 'folder' | 'upload'; layout: Layout; files: number; samples: number };
  images: { total: number; evaluated: number; leftOut: number };
  problems: { count: number; listed: DatasetProblem[] };
  metrics: TaskMetrics;
  timing: { wallMs: number; imagesPerSecond: number | null; latencyMs: TimeQuantiles; queueMs: TimeQuantiles; inferMs: TimeQuantiles };
  options: ScoreOptions;
}
