import { performance } from 'node:perf_hooks';
import type { Config } from '../../config.js';
import { badRequest, notFound } from '../../errors.js';
import { predictionAnswer } from '../../engine/prediction-answer.js';
import { predict } from '../../engine/predictor.js';
import type { ModelRepository } from '../../engine/repository.js';
import type { DetectionFeed } from '../../hub/detection-feed.js';
import type { DetectionInput, Store } from '../../store/index.js';
import { readJson } from '../body/json.js';
import { detectionBodySchemas, parseDetectionBody, type PostedDetection } from '../detection-input.js';
import { json } from '../reply.js';
import type { Route } from '../router.js';
import { validatedRoute } from '../validated-route.js';
import {
  detection as detectionSchema,
  detectionPage,
  detectionParams,
  detectionStats,
  listDetectionsQuery,
  statsQuery,
  storedBatch,
  storedDetection,
  verifyQuery,
} from '../schemas/detections.js';
import { checkImage, putImage, type StoredImage } from './images.js';
import { storedRoutes } from './stored-routes.js';

export interface DetectionRouteDeps {
  store: Store;
  models: ModelRepository;
  feed: DetectionFeed;
  config: Config;
}

/** A detection's image: a snapshot sent now (checked, not yet stored), or one stored earlier. */
type Snapshot = { bytes: Uint8Array; image: Omit<StoredImage, 'sha256'> } | { sha256: string } | null;

/** Settles every task and rethrows the failure of the lowest index, so the error reported does not depend on timing. */
async function allInOrder<T>(tasks: Array<Promise<T>>): Promise<T[]> {
  const settled = await Promise.allSettled(tasks);
  const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed !== undefined) throw failed.reason;
  return settled.map((s) => (s as PromiseFulfilledResult<T>).value);
}

/** Camera ingestion: POST detections (with snapshots), list, get, delete, stats. */
export function detectionRoutes(deps: DetectionRouteDeps): Route[] {
  const { store, models, feed, config } = deps;
  const limits = { maxInputPixels: config.maxImagePixels, maxInputBytes: config.maxFileBytes };
  const bodies = detectionBodySchemas(config.maxDetectionsPerRequest);

  async function snapshotOf(d: PostedDetection): Promise<Snapshot> {
    if (d.image !== undefined) return { bytes: d.image, image: await checkImage(d.image, limits, `${d.at}image`) };
    if (d.imageSha256 === undefined) return null;
    if (!(await store.blobs.has(d.imageSha256))) throw badRequest(`${d.at}imageSha256: no stored image has this hash`, { field: `${d.at}imageSha256` });
    return { sha256: d.imageSha256 };
  }

  /**
   * `?verify=<model>` runs the model on each snapshot before anything is stored, at low
   * priority: ingestion is background traffic and must not delay interactive predict
   * requests (low items age into the high order, so they are not starved either).
   */
  async function verdictOf(model: string, snapshot: Snapshot, signal: AbortSignal): Promise<unknown> {
    if (snapshot === null) return null;
    const started = performance.now();
    let bytes: Uint8Array;
    if ('bytes' in snapshot) {
      bytes = snapshot.bytes;
    } else {
      const stored = await store.blobs.get(snapshot.sha256);
      if (stored === undefined) throw notFound(`image ${snapshot.sha256} not found`);
      bytes = await stored.read();
    }
    const p = await predict(models, model, bytes, { signal, priority: 'low', limits });
    return predictionAnswer(model, p, performance.now() - started);
  }

  return [
    validatedRoute({
      method: 'POST',
      path: '/v1/detections',
      handler: async (ctx, { query: { verify } }) => {
        if (verify !== undefined) {
          ctx.logFields.model = verify;
          models.assertServing(verify); // 404/503 before reading the body
        }
        const { batch, detections } = parseDetectionBody(await readJson(ctx, config.maxJsonBytes), bodies);
        const snapshots = await allInOrder(detections.map(snapshotOf));
        const verdicts = verify === undefined ? [] : await allInOrder(snapshots.map((s) => verdictOf(verify, s, ctx.signal)));
        // Images are stored only once every detection passed: a refused request leaves nothing behind.
        const hashes = await allInOrder(
          snapshots.map(async (s) => (s === null ? null : 'sha256' in s ? s.sha256 : (await putImage(store, s.bytes, s.image)).sha256)),
        );
        const rows: DetectionInput[] = detections.map((d, i) => ({
          cameraId: d.cameraId,
          trackId: d.trackId,
          label: d.label,
          confidence: d.confidence,
          box: d.box,
          detectedAt: d.detectedAt,
          imageSha256: hashes[i]!,
          meta: d.meta,
          verify: verdicts[i] ?? null,
        }));
        // Resolves only once the commit is durable: the 201 below is a promise kept.
        const ids = await store.detections.insertMany(rows);
        ctx.logFields.detections = ids.length;
        feed.announce(ids, [...new Set(rows.map((r) => r.cameraId))]);
        if (batch) return json({ ids }, 201);
        return json({ id: ids[0], imageSha256: rows[0].imageSha256, verify: rows[0].verify }, 201, { location: `/v1/detections/${ids[0]}` });
      },
      schema: {
        operationId: 'postDetections',
        summary: 'Store detections from edge cameras',
        description:
          'One detection, or a batch `{"detections": [...]}` stored all or nothing. Snapshots (base64) are checked by their content and ' +
          'stored as images. With `?verify=<model>` the model runs on each snapshot first and its answer is stored in `verify`.',
        tags: ['Detections'],
        query: verifyQuery,
        body: { json: bodies.either },
        responses: {
          201: {
            description: 'stored and durable: `{id, imageSha256, verify}` for one detection, `{ids}` for a batch',
            json: storedDetection.or(storedBatch),
            headers: { Location: 'the detection (one detection only): /v1/detections/{id}' },
          },
        },
        errors: {
          404: 'the `verify` model is unknown (before the body is read)',
          413: 'the body or a snapshot (bytes or width × height) is over its limit',
          415: 'a snapshot is not an image the server recognises, or the body is not JSON',
          422: 'a snapshot could not be decoded',
          503: 'the `verify` model is not ready or overloaded',
          507: '`insufficient_storage`: no disk space left for a snapshot or the rows (with Retry-After); nothing was stored',
        },
      },
    }),
    ...storedRoutes('/v1/detections', 'detection', 'Detections', detectionParams, {
      list: {
        operationId: 'listDetections',
        summary: 'Detections, newest first, filtered, in pages',
        description: '`since` is inclusive, `until` exclusive; an unknown parameter is a 400, so a misspelt filter never matches everything.',
        query: listDetectionsQuery,
        read: (query) => store.detections.list(query),
        json: detectionPage,
      },
      get: { operationId: 'getDetection', summary: 'One detection', find: (id) => store.detections.get(id), json: detectionSchema },
      delete: { operationId: 'deleteDetection', summary: 'Delete a detection', remove: (id) => feed.remove(id) },
    }),
    validatedRoute({
      method: 'GET',
      path: '/v1/stats',
      handler: async (_ctx, { query }) => json(await store.detections.stats(query)),
      schema: {
        operationId: 'getDetectionStats',
        summary: 'Counts of detections: total, by label, by camera, per time bucket, and the latest',
        description: 'Takes the same filters as GET /v1/detections.',
        tags: ['Detections'],
        query: statsQuery,
        responses: { 200: { description: 'the counts', json: detectionStats } },
      },
    }),
  ];
}
