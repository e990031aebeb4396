import { InferenceSession, Tensor } from 'onnxruntime-node';
import { afterAll, describe, expect, it } from 'vitest';
import {
  attr,
  decodeModel,
  DEFAULT_DETECTOR_BOXES,
  failingModel,
  fixedDetector,
  identityModel,
  linearClassifier,
  OnnxGraph,
  rawModel,
  segmentationLogits,
  segmentationProbability,
  type TestModel,
} from './helpers/onnx-model.js';

const sessions: InferenceSession[] = [];
afterAll(async () => {
  for (const s of sessions) await s.release();
});

async function load(model: TestModel | Uint8Array): Promise<InferenceSession> {
  const bytes = model instanceof Uint8Array ? model : model.bytes;
  const session = await InferenceSession.create(bytes, { intraOpNumThreads: 1, interOpNumThreads: 1, logSeverityLevel: 4 });
  sessions.push(session);
  return session;
}

/** An NCHW float32 batch where item n, channel k, pixel (y, x) = value(n, k, y, x). */
function batch(n: number, h: number, w: number, value: (n: number, k: number, y: number, x: number) => number): Tensor {
  const data = new Float32Array(n * 3 * h * w);
  let i = 0;
  for (let b = 0; b < n; b++) for (let k = 0; k < 3; k++) for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) data[i++] = value(b, k, y, x);
  return new Tensor('float32', data, [n, 3, h, w]);
}

/** [field number, wire type] of each top-level field of a protobuf message, read straight from the wire format. */
function topLevelFields(bytes: Uint8Array): [number, number][] {
  const fields: [number, number][] = [];
  let at = 0;
  const varint = () => {
    let value = 0;
    let shift = 0;
    for (;;) {
      const byte = bytes[at++];
      value += (byte & 0x7f) * 2 ** shift;
      if (byte < 0x80) return value;
      shift += 7;
    }
  };
  while (at < bytes.length) {
    const tag = varint();
    const wire = tag & 7;
    fields.push([Math.floor(tag / 8), wire]);
    if (wire === 0) varint();
    else if (wire === 2) {
      const length = varint();
      at += length;
    } else throw new Error(`unexpected wire type ${wire}`);
  }
  return fields;
}

async function run(session: InferenceSession, model: TestModel, input: Tensor): Promise<Tensor> {
  const out = await session.run({ [model.inputName]: input });
  return out[model.outputNames[0]];
}

/** `run` on `batch(n, h, w, value)`. */
function runBatch(session: InferenceSession, model: TestModel, ...shape: Parameters<typeof batch>): Promise<Tensor> {
  return run(session, model, batch(...shape));
}

describe('ModelProto encoding', () => {
  it('writes the official field numbers (ir_version = 1, producer_name = 2, graph = 7, opset_import = 8)', () => {
    const bytes = new OnnxGraph('g').input('x', 'float32', [1]).output('y', 'float32', [1]).node('Identity', ['x'], ['y']).build();
    expect(topLevelFields(bytes)).toEqual([
      [1, 0],
      [2, 2],
      [7, 2],
      [8, 2],
    ]);
    expect(Array.from(bytes.subarray(0, 2))).toEqual([0x08, 0x08]); // ir_version varint 8
    const decoded = decodeModel(bytes) as { ir_version: string; opset_import: { version: string }[]; graph: { node: { op_type: string }[] } };
    expect(decoded.ir_version).toBe('8');
    expect(decoded.opset_import[0].version).toBe('13');
    expect(decoded.graph.node[0].op_type).toBe('Identity');
  });

  it('encodes every attribute kind so ONNX Runtime reads it back', async () => {
    const g = new OnnxGraph('attributes');
    g.input('x', 'float32', [2, 3]).output('leaky', 'float32', [2, 3]).output('t', 'float32', [3, 2]);
    g.output('padded', 'float32', [2, 5]).output('cf', 'float32', [2]).output('ci', 'int64', []).output('ct', 'int64', [2]);
    g.node('LeakyRelu', ['x'], ['leaky'], { alpha: attr.float(0.5) }); // float
    g.node('Transpose', ['x'], ['t'], { perm: [1, 0] }); // ints
    g.node('Pad', ['x', g.constant('int64', [4], [0, 1, 0, 1])], ['padded'], { mode: 'edge' }); // string
    g.node('Constant', [], ['cf'], { value_floats: attr.floats([1.5, -2]) }); // floats
    g.node('Constant', [], ['ci'], { value_int: attr.int(7) }); // int
    g.node('Constant', [], ['ct'], { value: attr.tensor('int64', [2], [-3n, 4n]) }); // tensor
    const session = await load(g.build());
    const out = await session.run({ x: new Tensor('float32', Float32Array.from([-2, 0, 2, -4, 1, 3]), [2, 3]) });
    expect(Array.from(out.leaky.data as Float32Array)).toEqual([-1, 0, 2, -2, 1, 3]);
    expect(Array.from(out.t.data as Float32Array)).toEqual([-2, -4, 0, 1, 2, 3]);
    expect(Array.from(out.padded.data as Float32Array)).toEqual([-2, -2, 0, 2, 2, -4, -4, 1, 3, 3]);
    expect(Array.from(out.cf.data as Float32Array)).toEqual([1.5, -2]);
    expect(out.ci.data).toEqual(BigInt64Array.from([7n]));
    expect(out.ct.data).toEqual(BigInt64Array.from([-3n, 4n]));
  });

  it('declares symbolic and fixed dims as given', async () => {
    const model = identityModel({ inputShape: [3, 'H', 'W'] });
    const session = await load(model);
    const meta = session.inputMetadata[0] as { name: string; isTensor: boolean; shape?: readonly (number | string)[] };
    expect(meta.name).toBe('input');
    expect(meta.shape).toEqual(['N', 3, 'H', 'W']);
  });

  it('rejects a wrongly typed attribute before encoding', () => {
    expect(() => new OnnxGraph().node('Transpose', ['x'], ['y'], { perm: [0.5] })).toThrow(/integers/);
  });
});

describe('linearClassifier', () => {
  it('default weights: logits are the channel means (class c reads channel c mod 3)', async () => {
    const model = linearClassifier({ inputShape: [3, 4, 4], classes: 4 });
    const session = await load(model);
    const channel = [0.25, 0.5, -1];
    const out = await runBatch(session, model, 1, 4, 4, (_n, k) => channel[k]);
    expect(out.dims).toEqual([1, 4]);
    expect(Array.from(out.data as Float32Array)).toEqual([0.25, 0.5, -1, 0.25]);
    expect(model.logitsFor([0.25, 0.5, -1])).toEqual([0.25, 0.5, -1, 0.25]);
  });

  it('custom weights and bias, batch of 3 with different images, exact logits', async () => {
    const weights = [
      [1, -1],
      [2, 0],
      [0, 4],
    ];
    const model = linearClassifier({ inputShape: [3, 2, 2], classes: 2, weights, bias: [0.5, -0.25] });
    const session = await load(model);
    // Item n: channel k is constant (n + 1) · (k + 1) / 4 except one pixel that is 1 higher (mean + 0.25).
    const value = (n: number, k: number, y: number, x: number) => ((n + 1) * (k + 1)) / 4 + (y === 0 && x === 0 ? 1 : 0);
    const out = await run(session, model, batch(3, 2, 2, value));
    expect(out.dims).toEqual([3, 2]);
    const want = [0, 1, 2].flatMap((n) => model.logitsFor([0, 1, 2].map((k) => ((n + 1) * (k + 1)) / 4 + 0.25) as [number, number, number]));
    expect(Array.from(out.data as Float32Array)).toEqual(want);
  });

  it('dynamic height and width', async () => {
    const model = linearClassifier({ inputShape: [3, 'H', 'W'], classes: 3 });
    const session = await load(model);
    const out = await runBatch(session, model, 2, 3, 5, (n, k) => n * 10 + k);
    expect(Array.from(out.data as Float32Array)).toEqual([0, 1, 2, 10, 11, 12]);
  });

  it('a fixed batch size is enforced by ONNX Runtime', async () => {
    const model = linearClassifier({ inputShape: [3, 2, 2], classes: 1, batch: 1 });
    const session = await load(model);
    await expect(runBatch(session, model, 1, 2, 2, () => 1)).resolves.toBeDefined();
    await expect(runBatch(session, model, 2, 2, 2, () => 1)).rejects.toThrow(/dimension|Got invalid/i);
  });
});

describe('fixedDetector', () => {
  it('features-first [N, 4+C, A] with the default candidates, N = 1 and N = 3', async () => {
    const model = fixedDetector();
    expect(model.outputDims).toEqual(['N', 6, 5]);
    const session = await load(model);
    // Row f holds feature f of every candidate: row 0 = cx of candidates 0..4, row 4 = class-0 scores.
    const item = Array.from(model.expectedItem);
    expect(item.slice(0, 5)).toEqual([20, 22, 21, 48, 40]);
    expect(item.slice(20, 25)).toEqual([0.9, 0.8, 0.1, 0.05, 0.2].map(Math.fround));
    for (const n of [1, 3]) {
      const out = await runBatch(session, model, n, 64, 64, () => 0.5);
      expect(out.dims).toEqual([n, 6, 5]);
      expect(Array.from(out.data as Float32Array)).toEqual(Array.from({ length: n }, () => item).flat());
    }
  });

  it('anchors-first [N, A, 4+C] with custom candidates', async () => {
    const boxes = [
      { cx: 5, cy: 6, w: 7, h: 8, scores: [0.5, 0.25, 0.125] },
      { cx: 1, cy: 2, w: 3, h: 4, scores: [0, 1, 0] },
    ];
    const model = fixedDetector({ boxes, layout: 'anchors-first', inputShape: [3, 16, 16] });
    const session = await load(model);
    const out = await runBatch(session, model, 3, 16, 16, () => 0);
    expect(out.dims).toEqual([3, 2, 7]);
    const item = [5, 6, 7, 8, 0.5, 0.25, 0.125, 1, 2, 3, 4, 0, 1, 0];
    expect(Array.from(out.data as Float32Array)).toEqual([...item, ...item, ...item]);
  });

  it('default candidates overlap as documented', () => {
    const corners = (b: (typeof DEFAULT_DETECTOR_BOXES)[number]) => [b.cx - b.w / 2, b.cy - b.h / 2, b.cx + b.w / 2, b.cy + b.h / 2];
    const iou = (a: number[], b: number[]) => {
      const iw = Math.max(0, Math.min(a[2], b[2]) - Math.max(a[0], b[0]));
      const ih = Math.max(0, Math.min(a[3], b[3]) - Math.max(a[1], b[1]));
      const inter = iw * ih;
      const area = (r: number[]) => (r[2] - r[0]) * (r[3] - r[1]);
      return inter / (area(a) + area(b) - inter);
    };
    const c = DEFAULT_DETECTOR_BOXES.map(corners);
    expect(iou(c[0], c[1])).toBeCloseTo(342 / 458, 12);
    expect(iou(c[0], c[2])).toBeCloseTo(380 / 420, 12);
    expect(iou(c[0], c[3])).toBe(0);
    expect(Math.max(...DEFAULT_DETECTOR_BOXES[4].scores)).toBeLessThan(0.25);
  });
});

describe('failingModel', () => {
  it('passes the input through when the magic value is absent (N = 1 and N = 3)', async () => {
    const model = failingModel({ inputShape: [3, 4, 4] });
    const session = await load(model);
    for (const n of [1, 3]) {
      const input = batch(n, 4, 4, (b, k, y, x) => b * 50 + k * 16 + y * 4 + x);
      const out = await run(session, model, input);
      expect(out.dims).toEqual([n, 3, 4, 4]);
      expect(Array.from(out.data as Float32Array)).toEqual(Array.from(input.data as Float32Array));
    }
  });

  it('fails the whole run when any item holds the magic value, and keeps working afterwards', async () => {
    const model = failingModel({ inputShape: [3, 4, 4], magic: 255 });
    const session = await load(model);
    await expect(runBatch(session, model, 3, 4, 4, (b, k, y, x) => (b === 1 && k === 2 && y === 3 && x === 1 ? 255 : 7))).rejects.toThrow(
      /Gather|out of (data )?bounds|indices/i,
    );
    await expect(runBatch(session, model, 1, 4, 4, () => 255)).rejects.toThrow();
    // Near misses (outside the tolerance) pass.
    const near = await runBatch(session, model, 1, 4, 4, () => 254.99);
    expect((near.data as Float32Array)[0]).toBe(Math.fround(254.99));
    const ok = await runBatch(session, model, 2, 4, 4, () => 3);
    expect(Array.from(ok.data as Float32Array).every((v) => v === 3)).toBe(true);
  });

  it('matches a normalised magic value within the tolerance', async () => {
    // A white pixel normalised with mean 0.5, std 0.5 is 1; float32 rounding must not dodge the check.
    const model = failingModel({ inputShape: [3, 'H', 'W'], magic: 1 });
    const session = await load(model);
    await expect(runBatch(session, model, 1, 2, 3, () => Math.fround((255 / 255 - 0.5) / 0.5))).rejects.toThrow();
    await expect(runBatch(session, model, 1, 2, 3, () => (254 / 255 - 0.5) / 0.5)).resolves.toBeDefined();
  });
});

describe('rawModel and identityModel', () => {
  it('rawModel: output = input · 2 by default', async () => {
    const model = rawModel({ inputShape: [3, 2, 2] });
    const session = await load(model);
    for (const n of [1, 3]) {
      const input = batch(n, 2, 2, (b, k, y, x) => b - k + y * 0.5 + x * 0.25);
      const out = await run(session, model, input);
      expect(out.dims).toEqual([n, 3, 2, 2]);
      expect(Array.from(out.data as Float32Array)).toEqual(Array.from(input.data as Float32Array, (v) => v * 2));
    }
  });

  it('rawModel: uint8 input, factor and offset', async () => {
    const model = rawModel({ inputShape: [3, 1, 2], inputType: 'uint8', factor: 0.5, offset: -1 });
    const session = await load(model);
    const data = Uint8Array.from([0, 2, 4, 6, 8, 255]);
    const out = await run(session, model, new Tensor('uint8', data, [1, 3, 1, 2]));
    expect(out.type).toBe('float32');
    expect(Array.from(out.data as Float32Array)).toEqual([-1, 0, 1, 2, 3, 126.5]);
  });

  it('identityModel returns its input, any H and W', async () => {
    const model = identityModel({ inputShape: [3, 'H', 'W'] });
    const session = await load(model);
    const input = batch(3, 3, 5, (b, k, y, x) => b * 100 + k * 10 + y + x / 10);
    const out = await run(session, model, input);
    expect(out.dims).toEqual([3, 3, 3, 5]);
    expect(Array.from(out.data as Float32Array)).toEqual(Array.from(input.data as Float32Array));
  });
});

describe('segmentation models', () => {
  it('segmentationLogits: [N, C, H, W] from a 1×1 convolution', async () => {
    const weights = [
      [1, 0, 0],
      [0, 1, 0],
      [0.5, 0.5, -1],
    ];
    const model = segmentationLogits({ inputShape: [3, 'H', 'W'], classes: 3, weights, bias: [0, 0.25, 1] });
    const session = await load(model);
    for (const n of [1, 3]) {
      const value = (b: number, k: number, y: number, x: number) => (k === 0 ? x : k === 1 ? y : b);
      const out = await run(session, model, batch(n, 2, 3, value));
      expect(out.dims).toEqual([n, 3, 2, 3]);
      const want: number[] = [];
      for (let b = 0; b < n; b++) {
        for (let c = 0; c < 3; c++) {
          for (let y = 0; y < 2; y++) {
            for (let x = 0; x < 3; x++) want.push(model.logitsAt([value(b, 0, y, x), value(b, 1, y, x), value(b, 2, y, x)])[c]);
          }
        }
      }
      expect(Array.from(out.data as Float32Array)).toEqual(want);
    }
  });

  it('segmentationProbability step: 1 where the first channel exceeds the threshold', async () => {
    const model = segmentationProbability({ inputShape: [3, 2, 4], threshold: 0.5 });
    const session = await load(model);
    // Item b, channel 0: a vertical edge at x = b + 1; other channels are large and must be ignored.
    const out = await runBatch(session, model, 3, 2, 4, (b, k, _y, x) => (k === 0 ? (x > b ? 1 : 0) : 9));
    expect(out.dims).toEqual([3, 1, 2, 4]);
    expect(Array.from(out.data as Float32Array)).toEqual([0, 1, 1, 1, 0, 1, 1, 1, 0, 0, 1, 1, 0, 0, 1, 1, 0, 0, 0, 1, 0, 0, 0, 1]);
    // Exactly at the threshold is not above it.
    const edge = await runBatch(session, model, 1, 2, 4, () => 0.5);
    expect(Array.from(edge.data as Float32Array)).toEqual(Array(8).fill(0));
  });

  it('segmentationProbability sigmoid', async () => {
    const model = segmentationProbability({ inputShape: [3, 1, 3], kind: 'sigmoid', threshold: 0 });
    const session = await load(model);
    const values = [-2, 0, 3];
    const out = await runBatch(session, model, 1, 1, 3, (_b, _k, _y, x) => values[x]);
    const got = Array.from(out.data as Float32Array);
    expect(got[1]).toBe(0.5);
    values.forEach((v, i) => expect(got[i]).toBeCloseTo(model.probabilityOf(v), 6));
  });
});
