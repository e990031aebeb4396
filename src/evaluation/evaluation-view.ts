import type { EvaluationSummary } from '../store/index.js';

/** An evaluation as listings, answers and events show it (the report travels only in GET /v1/evaluations/{id}). */
export function evaluationView(e: EvaluationSummary): EvaluationSummary {
  return {
    id: e.id,
    model: e.model,
    modelVersion: e.modelVersion,
    task: e.task,
    dataset: e.dataset,
    layout: e.layout,
    status: e.status,
    done: e.done,
    total: e.total,
    problems: e.problems,
    createdAt: e.createdAt,
    startedAt: e.startedAt,
    finishedAt: e.finishedAt,
    summary: e.summary,
    error: e.error,
  };
}
