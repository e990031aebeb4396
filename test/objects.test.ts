import { readFileSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadManifest } from '../dist/src/engine/manifest.js';
import type { DetectAnswer } from '../dist/src/heads/index.js';
import { prepareImage } from '../dist/src/imaging/index.js';
import type { Answer, BatchOf, ServingModelAnswer } from './helpers/answers.js';
import { humanModelsDir, startHumanObjects, type HumanObject, type HumanObjects } from './helpers/human-objects.js';
import { makeModelRepo } from './helpers/model-repo.js';
import { repoRoot, startTestServer } from './helpers/server.js';

type Server = Awaited<ReturnType<typeof startTestServer>>;
type Box = [number, number, number, number];

const shippedDir = path.join(repoRoot, 'models', 'objects');
const shipped = JSON.parse(readFileSync(path.join(shippedDir, 'model.json'), 'utf8')) as { file: string; head: Record<string, unknown> };
const labels = readFileSync(path.join(shippedDir, 'labels.txt'), 'utf8').trim().split('\n');
const VEHICLES = ['car', 'truck', 'bus', 'motorcycle', 'bicycle'];

/** The shipped manifest with its package file and labels named by absolute path, since test repositories live elsewhere. */
const objectsManifest = (head: Record<string, unknown> = {}) => ({
  ...shipped,
  file: path.join(humanModelsDir, 'centernet.json'),
  head: { ...shipped.head, labelsFile: path.join(shippedDir, 'labels.txt'), ...head },
});
/** Human's defaults apart from a lower threshold and more boxes: class-agnostic NMS at IoU 0.4. */
const ORACLE = { minConfidence: 0.1, iouThreshold: 0.4, maxDetected: 100 };

/** A street drawn flat: sky, road, a red car and a blue car on the left, a yellow bus on the right. */
const car = (x: number, y: number, body: string) => `<g transform="translate(${x},${y})">
<path d="M12,72 L36,72 L60,30 L156,30 L192,72 L240,78 L246,114 L6,114 Z" fill="${body}" stroke="#222" stroke-width="3"/>
<path d="M66,36 L106,36 L106,70 L46,70 Z" fill="#9cc9e8"/><path d="M113,36 L151,36 L180,70 L113,70 Z" fill="#9cc9e8"/>
<circle cx="60" cy="114" r="24" fill="#222"/><circle cx="60" cy="114" r="11" fill="#aaa"/>
<circle cx="198" cy="114" r="24" fill="#222"/><circle cx="198" cy="114" r="11" fill="#aaa"/></g>`;
const bus = (
  x: number,
  y: number,
) => `<g transform="translate(${x},${y})"><rect width="380" height="150" rx="14" fill="#f2c200" stroke="#333" stroke-width="4"/>
${[0, 1, 2, 3, 4, 5].map((i) => `<rect x="${20 + i * 58}" y="20" width="46" height="50" fill="#9cc9e8" stroke="#333" stroke-width="2"/>`).join('')}
<rect x="330" y="20" width="38" height="110" fill="#7fb0d0"/><circle cx="80" cy="150" r="28" fill="#222"/><circle cx="300" cy="150" r="28" fill="#222"/></g>`;
/** Drawn at 1200×500, rendered at any size (stretched); the vehicles' boxes in drawing units. */
const streetSvg = (
  w: number,
  h: number,
) => `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" viewBox="0 0 1200 500" preserveAspectRatio="none">
<rect width="1200" height="500" fill="#bcd8ee"/><rect y="330" width="1200" height="170" fill="#666"/><rect y="410" width="1200" height="8" fill="#fff"/>
${car(40, 238, '#c0392b')}${car(330, 242, '#2e6fb0')}${bus(760, 200)}</svg>`;
const drawnVehicles: Box[] = [
  [40, 268, 286, 376],
  [330, 272, 576, 380],
  [760, 200, 1140, 378],
];

const street = (w: number, h: number) =>
  sharp(Buffer.from(streetSvg(w, h)))
    .removeAlpha()
    .png()
    .toBuffer();
/** People at a party: the lower photo of the package's sample sheet, squeezed to 512×512. */
const people = () =>
  sharp(path.join(humanModelsDir, '..', 'assets', 'samples.jpg'))
    .extract({ left: 0, top: 200, width: 1280, height: 958 })
    .resize(512, 512, { fit: 'fill' })
    .removeAlpha()
    .png()
    .toBuffer();
const rgb = (png: Buffer) => sharp(png).removeAlpha().raw().toBuffer();

let server: Server;
let human: HumanObjects;

beforeAll(async () => {
  const repo = makeModelRepo({
    objects: { manifest: objectsManifest() },
    // The head set as Human's object module sets itself, so their answers must agree.
    reference: {
      manifest: objectsManifest({
        scoreThreshold: ORACLE.minConfidence,
        iouThreshold: ORACLE.iouThreshold,
        maxDetections: ORACLE.maxDetected,
        classAgnosticNms: true,
      }),
    },
    vehicles: { manifest: objectsManifest({ scoreThreshold: 0.1, keep: VEHICLES }) },
  });
  [server, human] = await Promise.all([startTestServer({ SIGHTLINE_MODELS_DIR: repo }), startHumanObjects(ORACLE)]);
  await server.modelsLoaded;
});
afterAll(async () => {
  await server?.close();
  await human?.close();
});

async function predict(model: string, image: Buffer) {
  const res = await fetch(`${server.url}/v1/models/${model}/predict`, { method: 'POST', body: image, headers: { 'content-type': 'image/png' } });
  expect(res.status).toBe(200);
  return (await res.json()) as Answer<DetectAnswer>;
}

/** Human's box in original pixels from its unrounded fractions, clamped to the image as sightline's are. */
function humanBox(o: HumanObject, width: number, height: number): Box {
  const clamp = (v: number, hi: number) => Math.min(Math.max(v, 0), hi);
  const [x, y, w, h] = o.boxRaw;
  return [clamp(x * width, width), clamp(y * height, height), clamp((x + w) * width, width), clamp((y + h) * height, height)];
}

const area = (b: Box) => Math.max(0, b[2] - b[0]) * Math.max(0, b[3] - b[1]);
const iou = (a: Box, b: Box) => {
  const inter = area([Math.max(a[0], b[0]), Math.max(a[1], b[1]), Math.min(a[2], b[2]), Math.min(a[3], b[3])]);
  return inter / (area(a) + area(b) - inter);
};

describe('objects: CenterNet MobileNetV3 (COCO) from @vladmandic/human on TensorFlow.js', () => {
  it("ships as a graph model on the WebAssembly runtime with the package's 80 COCO labels in its order", async () => {
    // Human's own label table (src/object/labels.ts): index i is class i of the model's output.
    const table = readFileSync(path.join(humanModelsDir, '..', 'src', 'object', 'labels.ts'), 'utf8');
    const packageLabels = [...table.matchAll(/label: '([^']+)'/g)].map((m) => m[1]);
    expect(packageLabels).toHaveLength(80);
    expect(labels).toEqual(packageLabels);

    const spec = loadManifest(shippedDir);
    expect(spec).toMatchObject({ task: 'detect', backend: 'tfjs', file: path.join(humanModelsDir, 'centernet.json'), outputs: ['tower_0/detections'] });
    expect(spec.head).toMatchObject({ labels, layout: 'decoded', boxFormat: 'xyxy', classAgnosticNms: false });
    expect(spec.batching.maxBatchSize).toBe(1);

    const d = (await (await fetch(`${server.url}/v1/models/objects`)).json()) as ServingModelAnswer;
    expect(d.state).toBe('ready');
    expect(d.device).toEqual({ requested: 'cpu', actual: 'cpu', runtime: 'tfjs-wasm', intraOpThreads: 1, instances: 1 });
    expect(d.inputs).toEqual(['tower_0/images']);
    expect(d.outputs).toEqual(['tower_0/wh', 'tower_0/keypoints', 'tower_0/detections']);
  });

  /** Sightline's answer against Human's for the tensor sightline's own image preparation makes of `image`. */
  async function expectHumanAnswer(image: Buffer, minimum: number) {
    const { width, height } = await sharp(image).metadata();
    const tensor = await prepareImage(image, loadManifest(shippedDir).imageSpec);
    expect([tensor.width, tensor.height]).toEqual([512, 512]);
    const ours = await predict('reference', image);
    const theirs = await human.detect(tensor.pixels, 512, 512);
    expect(theirs.length).toBeGreaterThanOrEqual(minimum);
    expect(ours.detections).toHaveLength(theirs.length);
    ours.detections.forEach((d, i) => {
      const o = theirs[i];
      expect(d.label).toBe(o.label);
      expect(labels.indexOf(d.label)).toBe(o.class);
      // Human truncates scores to two decimals.
      expect(Math.trunc(d.score * 100) / 100).toBe(o.score);
      humanBox(o, width, height).forEach((v, k) => expect(d.box[k]).toBeCloseTo(v, 3));
    });
  }

  it("answers what Human's object module answers for the same input tensor", async () => {
    const square = await people();
    // At the model's own size the tensor is the image's pixels as they are.
    expect(Buffer.from((await prepareImage(square, loadManifest(shippedDir).imageSpec)).pixels).equals(await rgb(square))).toBe(true);
    await expectHumanAnswer(square, 5);
    await expectHumanAnswer(await street(512, 512), 3);
  });

  it('maps boxes back per axis on stretched images, as Human does', async () => {
    // Human's boxes are fractions of its input, so times the original size they are in original pixels.
    await expectHumanAnswer(await street(900, 375), 3);
    await expectHumanAnswer(
      await sharp(await people())
        .resize(1024, 400, { fit: 'fill' })
        .png()
        .toBuffer(),
      5,
    );
  });

  it('finds the drawn vehicles of a street and keeps only vehicle labels', async () => {
    // 900×375: the 1200×500 drawing at 3/4 scale, stretched to 512×512 for the model.
    const body = await predict('vehicles', await street(900, 375));
    expect(body).toMatchObject({ model: 'vehicles', width: 900, height: 375, batchSize: 1 });
    expect(body.detections.length).toBeGreaterThan(0);
    for (const d of body.detections) {
      expect(VEHICLES).toContain(d.label);
      expect(d.score).toBeGreaterThanOrEqual(0.1);
      expect(d.score).toBeLessThanOrEqual(1);
      expect(d.box[0]).toBeGreaterThanOrEqual(0);
      expect(d.box[1]).toBeGreaterThanOrEqual(0);
      expect(d.box[2]).toBeLessThanOrEqual(900);
      expect(d.box[3]).toBeLessThanOrEqual(375);
    }
    const scores = body.detections.map((d) => d.score);
    expect(scores).toEqual([...scores].sort((x, y) => y - x));
    // Each box lies on a drawn vehicle, and each vehicle is found.
    const drawn = drawnVehicles.map((b) => b.map((v) => v * 0.75) as Box);
    for (const d of body.detections) expect(Math.max(...drawn.map((b) => iou(d.box, b)))).toBeGreaterThan(0.7);
    for (const b of drawn) expect(Math.max(...body.detections.map((d) => iou(d.box, b)))).toBeGreaterThan(0.7);
  });

  it('finds nothing in an empty image', async () => {
    const gray = await sharp({ create: { width: 640, height: 480, channels: 3, background: '#808080' } })
      .png()
      .toBuffer();
    expect(await predict('objects', gray)).toMatchObject({ model: 'objects', detections: [], width: 640, height: 480 });
    const white = await sharp({ create: { width: 300, height: 700, channels: 3, background: '#ffffff' } })
      .png()
      .toBuffer();
    expect((await predict('objects', white)).detections).toEqual([]);
  });

  it('runs several images of one request one per batch, in order', async () => {
    const form = new FormData();
    form.append('file', new Blob([await street(900, 375)], { type: 'image/png' }), 'street.png');
    form.append(
      'file',
      new Blob(
        [
          await sharp({ create: { width: 64, height: 64, channels: 3, background: '#000' } })
            .png()
            .toBuffer(),
        ],
        { type: 'image/png' },
      ),
      'black.png',
    );
    const res = await fetch(`${server.url}/v1/models/vehicles/predict`, { method: 'POST', body: form });
    expect(res.status).toBe(200);
    const { results } = (await res.json()) as BatchOf<Answer<DetectAnswer>>;
    expect(results.map((r) => [r.width, r.height, r.batchSize])).toEqual([
      [900, 375, 1],
      [64, 64, 1],
    ]);
    expect(results[0].detections.length).toBeGreaterThan(0);
    expect(results[1].detections).toEqual([]);
  });

  it('verifies camera snapshots with POST /v1/detections?verify=objects', async () => {
    const image = await street(900, 375);
    const detection = { cameraId: 'gate-objects', trackId: '1', label: 'bus', confidence: 0.9, detectedAt: 1710028800000, image: image.toString('base64') };
    const res = await fetch(`${server.url}/v1/detections?verify=vehicles`, {
      method: 'POST',
      body: JSON.stringify(detection),
      headers: { 'content-type': 'application/json' },
    });
    expect(res.status).toBe(201);
    const body = (await res.json()) as { id: string; verify: Answer<DetectAnswer> };
    const direct = await predict('vehicles', image);
    expect(body.verify).toMatchObject({ model: 'vehicles', width: 900, height: 375, detections: direct.detections });
    const stored = (await (await fetch(`${server.url}/v1/detections/${body.id}`)).json()) as { verify: unknown };
    expect(stored.verify).toEqual(body.verify);

    const plain = await fetch(`${server.url}/v1/detections?verify=objects`, {
      method: 'POST',
      body: JSON.stringify({ ...detection, trackId: '2' }),
      headers: { 'content-type': 'application/json' },
    });
    expect(plain.status).toBe(201);
    expect(((await plain.json()) as { verify: unknown }).verify).toMatchObject({
      model: 'objects',
      width: 900,
      height: 375,
      detections: (await predict('objects', image)).detections,
    });
  });

  it('takes one image per run: the graph is frozen at batch 1', async () => {
    // Even with the input declared [-1, 512, 512, 3], the graph's reshapes hold batch-1 constants.
    const { tf } = human;
    const json = JSON.parse(readFileSync(path.join(humanModelsDir, 'centernet.json'), 'utf8'));
    const placeholder = json.modelTopology.node.find((n: { op: string }) => n.op === 'Placeholder');
    expect(placeholder.attr.shape.shape.dim.map((d: { size: string }) => d.size)).toEqual(['1', '512', '512', '3']);
    placeholder.attr.shape.shape.dim[0].size = '-1';
    delete json.signature;
    const weights = readFileSync(path.join(humanModelsDir, 'centernet.bin'));
    const model = await tf.loadGraphModel(
      tf.io.fromMemory({ modelTopology: json.modelTopology, weightSpecs: json.weightsManifest[0].weights, weightData: new Uint8Array(weights).buffer }),
    );
    const two = tf.zeros([2, 512, 512, 3]);
    try {
      expect(() => model.execute({ 'tower_0/images': two }, ['tower_0/detections'])).toThrow('Size(131072) must match the product of shape 16384,4');
    } finally {
      two.dispose();
      model.dispose();
    }
  });
});
