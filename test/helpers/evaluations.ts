import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'vitest';
import { memoryFiles } from '../../dist/src/evaluation/dataset-files.js';
import type { CreateEvaluationInput } from '../../dist/src/store/index.js';
import type { EvaluationAnswer, EvaluationMetrics, SubmittedEvaluationAnswer } from './answers.js';
import { solidImage, type Rgb } from './images.js';

/** GET /v1/evaluations/{id} until it has succeeded or failed. */
export async function finishedEvaluation(baseUrl: string, id: string, timeoutMs = 30_000): Promise<EvaluationAnswer> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const e = (await (await fetch(`${baseUrl}/v1/evaluations/${id}`)).json()) as EvaluationAnswer;
    if (e.status === 'succeeded' || e.status === 'failed') return e;
    if (Date.now() > deadline) throw new Error(`evaluation ${id} still ${e.status} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** A dataset held in memory under `name`: each file's bytes, or its text as UTF-8. */
export function memoryDataset(name: string, files: Record<string, Buffer | string>) {
  return memoryFiles(name, new Map(Object.entries(files).map(([file, content]) => [file, Buffer.isBuffer(content) ? content : Buffer.from(content)])));
}

/** POST /v1/models/{model}/evaluate {dataset}: answered 202, then followed to its end. */
export async function evaluateDataset(baseUrl: string, model: string, dataset: string, timeoutMs?: number): Promise<EvaluationAnswer> {
  const res = await fetch(`${baseUrl}/v1/models/${model}/evaluate`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ dataset }),
  });
  expect(res.status).toBe(202);
  const { id } = (await res.json()) as SubmittedEvaluationAnswer;
  return finishedEvaluation(baseUrl, id, timeoutMs);
}

/** The report of a succeeded evaluation, with the metrics of `task`: anything else fails the test. */
export function reportOf<Task extends EvaluationMetrics['task']>(e: EvaluationAnswer, task: Task) {
  if (e.report === null) throw new Error(`evaluation ${e.id} is ${e.status} without a report: ${e.error}`);
  const metrics = e.report.metrics;
  if (metrics.task !== task) throw new Error(`evaluation ${e.id} reports ${metrics.task}, not ${task}`);
  return { ...e.report, metrics: metrics as EvaluationMetrics<Task> };
}

/** A folder dataset of solid 8×8 PNGs: each [path, colour] becomes that file below `root`. */
export async function writeSolidDataset(root: string, files: ReadonlyArray<readonly [string, Rgb]>): Promise<void> {
  for (const [file, rgb] of files) {
    mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
    writeFileSync(path.join(root, file), await solidImage('png', 8, 8, rgb));
  }
}

/** A new temporary datasets folder (its name starting `prefix`) holding each of `datasets` as a folder dataset of solid PNGs. */
export async function solidDatasetsDir(prefix: string, datasets: Record<string, ReadonlyArray<readonly [string, Rgb]>>): Promise<string> {
  const root = mkdtempSync(path.join(os.tmpdir(), prefix));
  for (const [name, files] of Object.entries(datasets)) await writeSolidDataset(path.join(root, name), files);
  return root;
}

/** The row a replica records for an evaluation of `cls` over the four images of `pair`. */
export const pairEvaluationInput: CreateEvaluationInput = {
  model: 'cls',
  modelVersion: 1,
  task: 'classify',
  dataset: 'pair',
  layout: 'imagefolder',
  total: 4,
  problems: 0,
};
