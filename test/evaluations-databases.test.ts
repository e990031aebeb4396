import { expect, it, onTestFinished } from 'vitest';
import { describeEachDatabase, freshDatabase, storeEnv } from './helpers/databases.js';
import { makeModelRepo, plainInput } from './helpers/model-repo.js';
import { linearClassifier } from './helpers/onnx-model.js';
import type { EvaluationAnswer, EvaluationPageAnswer } from './helpers/answers.js';
import { evaluateDataset, pairEvaluationInput, reportOf, solidDatasetsDir } from './helpers/evaluations.js';
import { startTestServer } from './helpers/server.js';

const repo = makeModelRepo({
  cls: { onnx: linearClassifier({ classes: 2 }).bytes, manifest: { task: 'classify', input: plainInput, head: { labels: ['red', 'green'], softmax: true } } },
});

const datasetsDir = () =>
  solidDatasetsDir('sightline-db-sets-', {
    pair: [
      ['red/a.png', [255, 0, 0]],
      ['red/b.png', [0, 200, 0]],
      ['green/c.png', [0, 255, 0]],
      ['green/🌿.png', [0, 250, 0]],
    ],
  });

describeEachDatabase('evaluations stored in the database', (target) => {
  it('a report reads back whole; one left running by a stopped server is failed at the next start', async () => {
    const db = await freshDatabase(target);
    const env = { SIGHTLINE_MODELS_DIR: repo, ...storeEnv(db), SIGHTLINE_DATASETS_DIR: await datasetsDir() };
    let server = await startTestServer(env);
    onTestFinished(() => server.close());
    await server.modelsLoaded;
    const e = await evaluateDataset(server.url, 'cls', 'pair');
    expect(e).toMatchObject({ status: 'succeeded', done: 4, summary: { accuracy: 0.75, auc: 1 } });
    expect(reportOf(e, 'classify').metrics.confusion.matrix).toEqual([
      [1, 1],
      [0, 2],
    ]);
    expect(reportOf(e, 'classify').metrics.misclassified).toEqual([{ file: 'red/b.png', truth: 'red', predicted: 'green', confidence: expect.any(Number) }]);

    // As if the process died mid-run: a row left running.
    const left = await server.store.evaluations.create(pairEvaluationInput);
    await server.store.evaluations.markRunning(left.id);
    await server.close();
    server = await startTestServer(env);
    const after = (await (await fetch(`${server.url}/v1/evaluations/${left.id}`)).json()) as EvaluationAnswer;
    expect(after).toMatchObject({ status: 'failed', error: 'the server stopped before this evaluation finished; start it again' });
    const again = (await (await fetch(`${server.url}/v1/evaluations/${e.id}`)).json()) as EvaluationAnswer;
    expect(again.report).toEqual(e.report);
    const list = (await (await fetch(`${server.url}/v1/evaluations?model=cls`)).json()) as EvaluationPageAnswer;
    expect(list.items.map((i) => i.id)).toEqual([left.id, e.id]);
  });
});
