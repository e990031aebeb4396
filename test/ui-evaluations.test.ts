import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { browserAvailability, consoleRoutes, launchBrowser } from './helpers/browser.js';
import { solidImage } from './helpers/images.js';
import { carPersonDetectorEntry } from './helpers/model-entries.js';
import { makeModelRepo, plainInput } from './helpers/model-repo.js';
import { linearClassifier } from './helpers/onnx-model.js';
import type { EvaluationAnswer, EvaluationPageAnswer } from './helpers/answers.js';
import { reportOf, solidDatasetsDir } from './helpers/evaluations.js';
import { startTestServer } from './helpers/server.js';

type Server = Awaited<ReturnType<typeof startTestServer>>;

const availability = browserAvailability();

let server: Server;
let browser: Browser;
let page: Page;
const pageErrors: string[] = [];

function write(root: string, file: string, bytes: Buffer | string): void {
  mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
  writeFileSync(path.join(root, file), bytes);
}

/** The evaluation the page started, as the API reports it. */
async function latest(model: string): Promise<EvaluationAnswer> {
  const { items } = (await (await fetch(`${server.url}/v1/evaluations?model=${model}&limit=1`)).json()) as EvaluationPageAnswer;
  return (await (await fetch(`${server.url}/v1/evaluations/${items[0].id}`)).json()) as EvaluationAnswer;
}

async function start(model: string, dataset: string): Promise<void> {
  await page.locator(`#evaluate-model option[value="${model}"]`).waitFor({ state: 'attached' });
  await page.locator(`#evaluate-dataset option[value="${dataset}"]`).waitFor({ state: 'attached' });
  await page.selectOption('#evaluate-model', model);
  await page.selectOption('#evaluate-dataset', dataset);
  await page.click('#evaluate-start');
}

describe.skipIf(!availability.available)(
  availability.available ? 'console evaluations panel in chromium' : `console evaluations panel (${availability.reason})`,
  () => {
    beforeAll(async () => {
      const repo = makeModelRepo({
        pair: {
          onnx: linearClassifier({ classes: 2 }).bytes,
          manifest: { task: 'classify', input: plainInput, head: { labels: ['red', 'green'], softmax: true } },
        },
        det: carPersonDetectorEntry(),
      });
      const datasets = await solidDatasetsDir('sightline-ui-sets-', {
        shades: [
          ['red/1.png', [255, 0, 0]],
          ['red/2.png', [200, 10, 0]],
          ['red/3.png', [120, 100, 0]],
          ['red/4.png', [0, 90, 0]],
          ['green/1.png', [0, 255, 0]],
          ['green/2.png', [30, 200, 0]],
          ['green/3.png', [140, 130, 0]],
        ],
      });
      write(path.join(datasets, 'shades'), 'green/broken.png', 'not an image');
      const black = await solidImage('png', 64, 64, [0, 0, 0]);
      write(path.join(datasets, 'cars'), 'a.png', black);
      write(
        path.join(datasets, 'cars'),
        'annotations.json',
        JSON.stringify({
          images: [{ id: 1, file_name: 'a.png', width: 64, height: 64 }],
          annotations: [
            { image_id: 1, category_id: 1, bbox: [10, 10, 20, 20] },
            { image_id: 1, category_id: 2, bbox: [40, 42, 16, 12] },
          ],
          categories: [
            { id: 1, name: 'car' },
            { id: 2, name: 'person' },
          ],
        }),
      );
      const extraRoutes = await consoleRoutes();
      [server, browser] = await Promise.all([
        startTestServer({ SIGHTLINE_MODELS_DIR: repo, SIGHTLINE_DATASETS_DIR: datasets }, { extraRoutes }),
        launchBrowser(),
      ]);
      await server.modelsLoaded;
      const context = await browser.newContext({ viewport: { width: 1280, height: 1400 } });
      page = await context.newPage();
      page.on('pageerror', (err) => pageErrors.push(`pageerror: ${err.message}`));
      page.on('console', (msg) => {
        if (msg.type() === 'error' && /Content Security Policy|Uncaught|TypeError|ReferenceError|SyntaxError/.test(msg.text())) pageErrors.push(msg.text());
      });
      await page.goto(`${server.url}/`);
    });
    afterAll(async () => {
      await browser?.close();
      await server?.close();
    });

    it('starts an evaluation on a folder, follows it, and draws the report as the API gives it', async () => {
      await start('pair', 'shades');
      const report = page.locator('#evaluation-report .report[data-task="classify"]');
      await report.waitFor();
      const e = await latest('pair');
      expect(e.status).toBe('succeeded');
      const m = reportOf(e, 'classify').metrics;
      const binary = m.binary!;
      const summary = e.summary!;

      const row = page.locator(`#evaluations-table tr[data-evaluation="${e.id}"]`);
      expect(await row.getAttribute('data-status')).toBe('succeeded');
      expect(await row.locator('progress').evaluate((p: HTMLProgressElement) => [p.value, p.max])).toEqual([8, 8]);
      expect(await row.locator('.headline').textContent()).toBe(`accuracy ${m.accuracy!.toFixed(3)}`);

      // The heatmap's cells are the confusion matrix.
      const cells = await report
        .locator('svg.heatmap g.cell')
        .evaluateAll((gs) => gs.map((g) => [g.getAttribute('data-row'), g.getAttribute('data-col'), Number(g.getAttribute('data-count'))]));
      expect(cells).toEqual(m.confusion.matrix.flatMap((r, i) => r.map((count, j) => [m.confusion.labels[i], m.confusion.labels[j], count])));
      expect(await report.locator('svg.heatmap g.cell text').allTextContents()).toEqual(m.confusion.matrix.flat().map(String));

      // The bars are precision, recall and F1 of each class; their lengths follow the values.
      const bars = await report.locator('svg.bars g.bar-row').evaluateAll((gs) =>
        gs.map((g) => ({
          label: g.getAttribute('data-label'),
          metric: g.getAttribute('data-metric'),
          value: g.getAttribute('data-value'),
          width: Number(g.querySelector('rect.bar')!.getAttribute('width')),
        })),
      );
      const expectedBars = m.perClass.flatMap((c) =>
        (['precision', 'recall', 'f1'] as const).map((k) => ({
          label: c.label,
          metric: k,
          value: c[k] === null ? '' : String(c[k]),
          width: (c[k] ?? 0) * 200,
        })),
      );
      expect(bars.map((b) => ({ ...b, width: Math.round(b.width * 1000) / 1000 }))).toEqual(
        expectedBars.map((b) => ({ ...b, width: Math.round(b.width * 1000) / 1000 })),
      );

      // The ROC curve runs through the report's points.
      const roc = report.locator('svg.curve polyline[data-series="ROC"]');
      const points = (await roc.getAttribute('points'))!.split(' ').map((p) => p.split(',').map(Number));
      expect(points).toEqual(binary.roc.map((p) => [Math.round((34 + p.fpr * 240) * 100) / 100, Math.round((17 + (1 - p.tpr) * 240) * 100) / 100]));
      expect(await report.locator('figcaption').allTextContents()).toContain(`ROC curve (green positive), AUC ${binary.auc!.toFixed(3)}`);

      // Headline figures and the problem left out.
      expect(Number(await report.locator('.figures [data-metric="accuracy"]').getAttribute('data-value'))).toBe(summary.accuracy);
      expect(await report.locator('.figures [data-metric="accuracy"] dd').textContent()).toBe(summary.accuracy!.toFixed(3));
      expect(await report.locator('.problems summary').textContent()).toBe('1 problem (left out)');
      expect(await report.locator('.problems li').textContent()).toContain('green/broken.png');
      await page.screenshot({ path: path.join(os.tmpdir(), 'sightline-ui-evaluation.png'), fullPage: true });
    });

    it('a detector: AP bars and precision–recall curves; delete removes the row', async () => {
      await start('det', 'cars');
      const report = page.locator('#evaluation-report .report[data-task="detect"]');
      await report.waitFor();
      const e = await latest('det');
      const m = reportOf(e, 'detect').metrics;
      const ap = await report
        .locator('svg.bars g.bar-row[data-metric="ap50"]')
        .evaluateAll((gs) => gs.map((g) => [g.getAttribute('data-label'), Number(g.getAttribute('data-value'))]));
      expect(ap).toEqual(m.perClass.map((c) => [c.label, c.ap50]));
      expect(
        await report.locator('svg.curve polyline').evaluateAll((ls) => ls.map((l) => [l.getAttribute('data-series'), Number(l.getAttribute('data-points'))])),
      ).toEqual([
        ['car', 101],
        ['person', 101],
      ]);
      expect(Number(await report.locator('.figures [data-metric="map50"]').getAttribute('data-value'))).toBe(m.map50);

      await page.locator(`#evaluations-table tr[data-evaluation="${e.id}"] button`, { hasText: 'Delete' }).click();
      await page.locator(`#evaluations-table tr[data-evaluation="${e.id}"]`).waitFor({ state: 'detached' });
      expect((await fetch(`${server.url}/v1/evaluations/${e.id}`)).status).toBe(404);
      expect(await page.locator('#evaluation-report').textContent()).toBe('');
      expect(pageErrors).toEqual([]);
    });
  },
);
