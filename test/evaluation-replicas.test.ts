/**
 * Evaluations on two servers sharing one MariaDB database: a replica starting does not fail another
 * live replica's evaluation, and one whose replica died is marked failed once its lease ran out.
 */
import { describe, expect, it, onTestFinished } from 'vitest';
import { openStore } from '../dist/src/store/index.js';
import type { EvaluationAnswer, SubmittedEvaluationAnswer } from './helpers/answers.js';
import { databaseTargets, freshDatabase, storeEnv } from './helpers/databases.js';
import { finishedEvaluation, pairEvaluationInput, solidDatasetsDir } from './helpers/evaluations.js';
import { makeModelRepo, plainInput } from './helpers/model-repo.js';
import { linearClassifier } from './helpers/onnx-model.js';
import { startTestServer } from './helpers/server.js';

const mariadb = databaseTargets.find((t) => t.name === 'mariadb')!;
// Batches wait 3 s for company: the evaluation stays running while the other replica starts.
const repo = makeModelRepo({
  cls: {
    onnx: linearClassifier({ classes: 2 }).bytes,
    manifest: {
      task: 'classify',
      input: plainInput,
      head: { labels: ['red', 'green'], softmax: true },
      batching: { maxBatchSize: 64, maxQueueDelayMs: 3000, waitWhenIdle: true },
    },
  },
});

const datasetsDir = () =>
  solidDatasetsDir('sightline-replica-sets-', {
    pair: [
      ['red/a.png', [255, 0, 0]],
      ['red/b.png', [200, 0, 0]],
      ['green/c.png', [0, 255, 0]],
      ['green/d.png', [0, 250, 0]],
    ],
  });

async function evaluation(base: string, id: string): Promise<EvaluationAnswer> {
  return (await (await fetch(`${base}/v1/evaluations/${id}`)).json()) as EvaluationAnswer;
}

describe.skipIf(mariadb.skipReason !== undefined)(
  `evaluations on two replicas sharing a MariaDB database${mariadb.skipReason ? ` (${mariadb.skipReason})` : ''}`,
  () => {
    it("leaves a live replica's running evaluation alone when another replica starts", async () => {
      const db = await freshDatabase(mariadb);
      const env = {
        ...storeEnv(db),
        SIGHTLINE_MODELS_DIR: repo,
        SIGHTLINE_DATASETS_DIR: await datasetsDir(),
        SIGHTLINE_CALIBRATE: 'false',
        SIGHTLINE_JOB_LEASE_MS: '2000',
      };
      const a = await startTestServer({ ...env, SIGHTLINE_REPLICA_ID: 'replica-a' });
      onTestFinished(() => a.close());
      await a.modelsLoaded;
      const res = await fetch(`${a.url}/v1/models/cls/evaluate`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ dataset: 'pair' }),
      });
      expect(res.status).toBe(202);
      const { id } = (await res.json()) as SubmittedEvaluationAnswer;
      for (let i = 0; (await evaluation(a.url, id)).status !== 'running'; i++) {
        if (i > 400) throw new Error(`evaluation ${id} did not start`);
        await new Promise((r) => setTimeout(r, 25));
      }

      const b = await startTestServer({ ...env, SIGHTLINE_REPLICA_ID: 'replica-b' });
      onTestFinished(() => b.close());
      expect(await evaluation(b.url, id)).toMatchObject({ status: 'running', error: null });
      const done = await finishedEvaluation(a.url, id);
      expect(done).toMatchObject({ status: 'succeeded', done: 4, error: null, summary: { accuracy: 1 } });
    });

    it('marks failed an evaluation whose replica died, once its lease ran out', async () => {
      const db = await freshDatabase(mariadb);
      const live = await startTestServer({
        ...storeEnv(db),
        SIGHTLINE_MODELS_DIR: repo,
        SIGHTLINE_CALIBRATE: 'false',
        SIGHTLINE_JOB_LEASE_MS: '2000',
        SIGHTLINE_REPLICA_ID: 'replica-live',
      });
      onTestFinished(() => live.close());
      // A replica that took an evaluation and died: its lease is never renewed.
      const dead = await openStore({ url: db.url, dataDir: db.dataDir });
      onTestFinished(() => dead.close());
      const lease = { owner: 'dead-replica', leaseMs: 1000 };
      const created = await dead.evaluations.create({ ...pairEvaluationInput, lease });
      await dead.evaluations.claim(created.id, lease);
      expect((await evaluation(live.url, created.id)).status).toBe('running');
      const failed = await finishedEvaluation(live.url, created.id, 10_000);
      expect(failed).toMatchObject({
        status: 'failed',
        error: 'the replica running this evaluation stopped renewing it (it died or lost the database); start it again',
      });
      expect(failed.finishedAt).toBeGreaterThanOrEqual(created.createdAt + lease.leaseMs);
    });
  },
);
