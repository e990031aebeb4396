import type { z } from 'zod';
import type { errorBody } from '../../dist/src/http/schemas/error.js';
import type { datasetList, evaluationPage, evaluationView, submittedEvaluation } from '../../dist/src/http/schemas/evaluations.js';
import type { jobPage, jobView, submittedJob } from '../../dist/src/http/schemas/jobs.js';
import type { modelDetail, modelList, modelStatus } from '../../dist/src/http/schemas/models.js';
import type { batchAnswer, predictAnswer } from '../../dist/src/http/schemas/predict.js';

// The JSON bodies the server answers with, typed by the schemas that document them, so a test that reads a
// field the route does not send fails to compile.

export type ErrorAnswer = z.output<typeof errorBody>;
export type ModelStatusAnswer = z.output<typeof modelStatus>;
export type ModelListAnswer = z.output<typeof modelList>;
export type ModelDetailAnswer = z.output<typeof modelDetail>;
/** The detail of a model while a version of it serves: its task, device, spec, tensor names and statistics are there. */
export type ServingModelAnswer = ModelDetailAnswer & Required<Pick<ModelDetailAnswer, 'task' | 'device' | 'spec' | 'inputs' | 'outputs' | 'statistics'>>;
export type PredictAnswer = z.output<typeof predictAnswer>;
/** One image's answer from a model whose head answers `Head` (e.g. `Answer<ClassifyAnswer>`). */
export type Answer<Head> = Extract<PredictAnswer, Head>;
export type BatchAnswer = z.output<typeof batchAnswer>;
/** An entry of a batch answer for an image that could not be answered. */
export type FailedItem = Exclude<BatchAnswer['results'][number], PredictAnswer>;
export type SubmittedJobAnswer = z.output<typeof submittedJob>;
export type JobAnswer = z.output<typeof jobView>;
export type JobPageAnswer = z.output<typeof jobPage>;
/** A batch answer whose entries are all `Entry`: `BatchOf<Answer<ClassifyAnswer>>` when every image was answered. */
export type BatchOf<Entry extends BatchAnswer['results'][number]> = Omit<BatchAnswer, 'results'> & { results: Entry[] };
export type SubmittedEvaluationAnswer = z.output<typeof submittedEvaluation>;
export type EvaluationAnswer = z.output<typeof evaluationView>;
export type EvaluationPageAnswer = z.output<typeof evaluationPage>;
export type DatasetListAnswer = z.output<typeof datasetList>;
/** The metrics of a report, one shape per task: `EvaluationMetrics<'classify'>`. */
export type EvaluationMetrics<Task extends string = string> = Extract<NonNullable<EvaluationAnswer['report']>['metrics'], { task: Task }>;
