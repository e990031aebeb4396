import Fastify from 'fastify';
import ort from 'onnxruntime-node';
import path from 'node:path';
import sharp from 'sharp';
import { loadManifest, type ModelSpec } from '../src/engine/manifest.js';
import { headFor, type ItemTensor } from '../src/heads/index.js';
import { DEFAULT_BACKGROUND, planResize } from '../src/imaging/index.js';

/**
 * The comparison server for bench/latency.ts: what a Node developer would write to serve these
 * models. fastify with a raw image body, sharp to decode and resize, one onnxruntime-node
 * InferenceSession per model on the main thread with ONNX Runtime's default options, one image
 * per run, no batching, no worker threads.
 *
 * It reads the same manifests (loadManifest: package paths, label files and head defaults
 * resolved) and applies the same pre-processing (resize plan, pad, channel order, mean/std,
 * layout) and the same head, so its answers equal sightline's; only the serving differs.
 *
 * Usage: naive-server.js <models-dir> <name,name,...>. Prints its port on stdout once loaded.
 */
const [modelsDir, names] = process.argv.slice(2);
if (!modelsDir || !names) {
  console.error('usage: naive-server.js <models-dir> <name,name,...>');
  process.exit(2);
}

interface Served {
  spec: ModelSpec;
  session: ort.InferenceSession;
  inputName: string;
  outputNames: readonly string[];
}

const models = new Map<string, Served>();
for (const name of names.split(',').filter(Boolean)) {
  const spec = loadManifest(path.resolve(modelsDir, name));
  const session = await ort.InferenceSession.create(spec.file);
  models.set(name, { spec, session, inputName: spec.input.name ?? session.inputNames[0], outputNames: spec.outputs ?? session.outputNames });
}

const fail = (status: number, code: string, message: string) => Object.assign(new Error(message), { statusCode: status, code });

/** Decoded, oriented, resized and padded RGB pixels at the tensor's size, plus where they came from. */
async function preprocess(spec: ModelSpec, bytes: Buffer) {
  const image = spec.imageSpec;
  let meta: sharp.Metadata;
  try {
    meta = await sharp(bytes).metadata();
  } catch (err) {
    throw fail(422, 'undecodable_image', `could not decode the image: ${(err as Error).message}`);
  }
  const swap = (meta.orientation ?? 1) >= 5;
  const original = { width: swap ? meta.height : meta.width, height: swap ? meta.width : meta.height };
  const plan = planResize(original, image);
  const [r, g, b] = image.background ?? DEFAULT_BACKGROUND;
  const pad = plan.padValue;
  let pipeline = sharp(bytes)
    .rotate()
    .flatten({ background: { r, g, b } })
    .resize(plan.content.width, plan.content.height, { fit: 'fill', kernel: image.kernel ?? 'linear' });
  if (plan.left + plan.top + plan.right + plan.bottom > 0) {
    pipeline = pipeline.extend({ left: plan.left, top: plan.top, right: plan.right, bottom: plan.bottom, background: { r: pad, g: pad, b: pad } });
  }
  try {
    const { data } = await pipeline.removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
    return { pixels: data, plan, original };
  } catch (err) {
    throw fail(422, 'undecodable_image', `could not decode the image: ${(err as Error).message}`);
  }
}

/** HWC RGB bytes → the model's input tensor, one pixel at a time. */
function toTensor(spec: ModelSpec, pixels: Buffer, width: number, height: number): ort.Tensor {
  const { layout, dtype, colorOrder, mean, std, scale } = spec.input;
  const n = width * height;
  const data = dtype === 'uint8' ? new Uint8Array(n * 3) : new Float32Array(n * 3);
  for (let p = 0; p < n; p++) {
    for (let c = 0; c < 3; c++) {
      const v = pixels[p * 3 + (colorOrder === 'BGR' ? 2 - c : c)];
      const at = layout === 'NCHW' ? c * n + p : p * 3 + c;
      data[at] = dtype === 'uint8' ? v : (v * scale - mean[c]) / std[c];
    }
  }
  const dims = layout === 'NCHW' ? [1, 3, height, width] : [1, height, width, 3];
  return data instanceof Uint8Array ? new ort.Tensor('uint8', data, dims) : new ort.Tensor('float32', data, dims);
}

const app = Fastify({ bodyLimit: 64 * 1024 * 1024 });
app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
app.setErrorHandler((err: Error & { statusCode?: number; code?: string }, _req, reply) => {
  const status = err.statusCode ?? 500;
  void reply.status(status).send({ error: { code: status === 500 ? 'internal' : (err.code ?? 'bad_request'), message: err.message } });
});

app.get('/health/live', async () => ({ status: 'live' }));

app.post<{ Params: { name: string } }>('/v1/models/:name/predict', async (req) => {
  const started = performance.now();
  const model = models.get(req.params.name);
  if (!model) throw fail(404, 'not_found', `model ${JSON.stringify(req.params.name)} not found`);
  if (!Buffer.isBuffer(req.body) || req.body.length === 0) throw fail(400, 'bad_request', 'send the image as the request body');
  const { spec } = model;
  const { pixels, plan, original } = await preprocess(spec, req.body);
  const { width, height } = plan.tensor;
  const t0 = performance.now();
  const results = await model.session.run({ [model.inputName]: toTensor(spec, pixels, width, height) }, [...model.outputNames]);
  const inferMs = performance.now() - t0;
  const outputs: Record<string, ItemTensor> = {};
  for (const name of model.outputNames) {
    const t = results[name];
    outputs[name] = { dims: t.dims, data: t.data as ItemTensor['data'] };
  }
  const answer: unknown = headFor(spec.task).run(outputs, { original, tensor: { width, height }, transform: plan.transform }, spec.head as never);
  const value = answer !== null && typeof answer === 'object' ? answer : { value: answer };
  const round = (ms: number) => Math.round(ms * 1000) / 1000;
  return {
    model: spec.name,
    ...value,
    width: original.width,
    height: original.height,
    batchSize: 1,
    latencyMs: { queueMs: 0, inferMs: round(inferMs), totalMs: round(performance.now() - started) },
  };
});

await app.listen({ port: 0, host: '127.0.0.1' });
console.log((app.server.address() as { port: number }).port);

process.on('SIGTERM', () => {
  void app.close().then(() => process.exit(0));
});
