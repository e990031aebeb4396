import path from 'node:path';
import { z } from 'zod';
import { errorBody, notFound } from '../errors.js';
import { folderFiles } from '../evaluation/dataset-files.js';
import { readDataset } from '../evaluation/dataset-reader.js';
import type { Dataset } from '../evaluation/dataset.js';
import { scorerFor } from '../evaluation/scorers.js';
import type { ClassifyMetrics } from '../evaluation/classify-metrics.js';
import { json } from '../http/reply.js';
import { runModel } from './model-run.js';
import type { ProfileContext } from './profile.js';
import { route, type RouteTable } from './route-table.js';

const category = z.strictObject({ count: z.int(), images: z.array(z.string()).describe('paths inside the folder') });

const testImagesAnswer = z.strictObject({
  dataset: z.string().describe("the folder's name"),
  categories: z.record(z.string(), category).describe('one per label folder, in the model’s label order'),
  total_images: z.int(),
  problems: z.array(z.strictObject({ file: z.string(), message: z.string() })).describe('files left out, and why'),
});

const sampleResult = z.strictObject({
  file: z.string(),
  true_label: z.string(),
  predicted_label: z.string().nullable(),
  confidence: z.number().nullable(),
  correct: z.boolean(),
  error: z.string().optional(),
});

const testInferenceAnswer = z.strictObject({
  total_images: z.int(),
  evaluated_images: z.int().describe('images the model answered'),
  correct_predictions: z.int(),
  accuracy: z.number().nullable(),
  per_category: z.record(z.string(), z.strictObject({ total: z.int(), correct: z.int(), accuracy: z.number().nullable() })),
  results: z.array(sampleResult).describe('in folder order'),
  metrics: z
    .looseObject({ task: z.literal('classify') })
    .describe("sightline's classification report: per-class precision, recall and F1, the confusion matrix, ROC and AUC for two classes"),
  problems: z.array(z.strictObject({ file: z.string(), message: z.string() })),
});

const NO_DATASET = 'no test image folder is configured for this profile: set "dataset" in its entry of "profiles" in the config file';

/** The model's labels, each spelled as the folder that names it when folders differ only in case (positive/ for POSITIVE). */
async function readTestSet(
  profile: ProfileContext,
  labels: readonly string[],
): Promise<{ dataset: Extract<Dataset, { task: 'classify' }>; folderLabels: string[] }> {
  if (profile.dataset === undefined) throw notFound(NO_DATASET);
  const files = await folderFiles(path.dirname(profile.dataset), path.basename(profile.dataset));
  const folders = new Set(files.paths.filter((p) => p.includes('/')).map((p) => p.slice(0, p.indexOf('/'))));
  const folderLabels = labels.map((l) => (folders.has(l) ? l : ([...folders].find((f) => f.toLowerCase() === l.toLowerCase()) ?? l)));
  const dataset = await readDataset(files, { task: 'classify', labels: folderLabels, layout: 'imagefolder' });
  return { dataset: dataset as Extract<Dataset, { task: 'classify' }>, folderLabels };
}

const labelsOf = (profile: ProfileContext): string[] =>
  (((profile.models.detail(profile.model!)?.spec ?? profile.spec)?.head as { labels?: string[] } | undefined)?.labels ?? []).slice();

/**
 * GET /test_images and POST /test_inference on the profile's test folder (one sub-folder of
 * images per label, as the service kept them), read and scored by the evaluation feature.
 */
export function fractureEvaluationRoutes(profile: ProfileContext): RouteTable {
  return {
    testImages: route('GET /test_images', 'read', 'The test images, by category', {
      handler: async () => {
        const labels = labelsOf(profile);
        const { dataset, folderLabels } = await readTestSet(profile, labels);
        const categories: Record<string, z.output<typeof category>> = {};
        for (const folder of folderLabels) categories[folder] = { count: 0, images: [] };
        for (const s of dataset.samples) {
          const c = categories[folderLabels[s.label]];
          c.count++;
          c.images.push(s.file);
        }
        return json({ dataset: dataset.name, categories, total_images: dataset.samples.length, problems: dataset.problems } satisfies z.output<
          typeof testImagesAnswer
        >);
      },
      responses: { 200: { description: 'the categories and their images', json: testImagesAnswer } },
      errors: { 404: 'no test folder is configured, or it does not exist' },
    }),
    testInference: route('POST /test_inference', 'predict', 'Run the model on every test image and report its accuracy', {
      handler: async (rc) => {
        profile.models.assertServing(profile.model!);
        const labels = labelsOf(profile);
        const { dataset, folderLabels } = await readTestSet(profile, labels);
        const scorer = scorerFor(dataset, { labels, background: 0 }, {});
        const problems = [...dataset.problems];
        const results = await Promise.all(
          dataset.samples.map(async (sample, i): Promise<z.output<typeof sampleResult>> => {
            const truth = labels[sample.label];
            try {
              const bytes = await dataset.files.read(sample.file);
              // Low priority, as evaluations run: interactive predictions go first.
              const p = await runModel(profile, rc, bytes, 'low');
              const problem = await scorer.score(i, p);
              if (problem !== undefined) problems.push(problem);
              const answer = p.value as { label?: string; confidence?: number };
              const predicted = answer.label ?? null;
              return { file: sample.file, true_label: truth, predicted_label: predicted, confidence: answer.confidence ?? null, correct: predicted === truth };
            } catch (err) {
              const message = errorBody(err).message;
              problems.push({ file: sample.file, message });
              return { file: sample.file, true_label: truth, predicted_label: null, confidence: null, correct: false, error: message };
            }
          }),
        );
        const metrics = scorer.metrics() as ClassifyMetrics;
        const per_category: Record<string, { total: number; correct: number; accuracy: number | null }> = {};
        labels.forEach((label, i) => {
          const mine = results.filter((r) => r.true_label === label);
          const correct = mine.filter((r) => r.correct).length;
          per_category[folderLabels[i]] = { total: mine.length, correct, accuracy: mine.length === 0 ? null : correct / mine.length };
        });
        const correct = results.filter((r) => r.correct).length;
        return json({
          total_images: dataset.samples.length,
          evaluated_images: metrics.samples,
          correct_predictions: correct,
          accuracy: metrics.accuracy,
          per_category,
          results,
          metrics: metrics as unknown as z.output<typeof testInferenceAnswer>['metrics'],
          problems,
        } satisfies z.output<typeof testInferenceAnswer>);
      },
      responses: { 200: { description: 'every result, the accuracy overall and per category, and the full report', json: testInferenceAnswer } },
      errors: { 404: 'no test folder is configured, or it does not exist', 503: 'the model is not ready' },
    }),
  };
}
