import ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { solidImage } from './helpers/images.js';
import { infer, inferBody, parseInferAnswer, postInfer, type AnswerTensor, type ClientTensor } from './helpers/kserve-client.js';
import { makeModelRepo, plainInput } from './helpers/model-repo.js';
import { linearClassifier } from './helpers/onnx-model.js';
import { startTestServer } from './helpers/server.js';
import { TYPED_PORTS, typedModel } from './helpers/typed-model.js';

type Server = Awaited<ReturnType<typeof startTestServer>>;

const labels = ['red', 'green', 'blue'];
// logits[c] = Σ_k mean_k · w[k][c] + b[c], with weights that mix the channels unevenly.
const classifier = linearClassifier({
  classes: 3,
  weights: [
    [1, 0.5, 0],
    [0, 1, 0.25],
    [0.125, 0, 1],
  ],
  bias: [0.1, -0.2, 0.3],
});
const typed = typedModel();
const fixed = { instances: 1, intraOpThreads: 1 };

let server: Server;
let clsSession: ort.InferenceSession;
let typedSession: ort.InferenceSession;

beforeAll(async () => {
  const repo = makeModelRepo({
    cls: { onnx: classifier.bytes, manifest: { task: 'classify', input: plainInput, head: { labels }, ...fixed } },
    // Partial batches wait 300 ms for company, so requests sent together share a batch.
    batchy: {
      onnx: classifier.bytes,
      manifest: { task: 'raw', input: plainInput, batching: { maxBatchSize: 8, maxQueueDelayMs: 300, waitWhenIdle: true }, ...fixed },
    },
    typed: { onnx: typed, manifest: { task: 'raw', input: plainInput, ...fixed } },
    named: {
      onnx: classifier.bytes,
      manifest: { task: 'classify', input: plainInput, head: { labels }, openInference: { imageInput: 'photo', answerOutput: 'verdict' }, ...fixed },
    },
    spare: { onnx: classifier.bytes, manifest: { task: 'classify', input: plainInput, head: { labels }, ...fixed } },
  });
  server = await startTestServer({ SIGHTLINE_MODELS_DIR: repo, SIGHTLINE_CALIBRATE: 'false' });
  await server.modelsLoaded;
  clsSession = await ort.InferenceSession.create(classifier.bytes);
  typedSession = await ort.InferenceSession.create(typed);
});
afterAll(async () => {
  await server?.close();
  await clsSession?.release();
  await typedSession?.release();
});

const get = async (path: string) => {
  const res = await fetch(`${server.url}${path}`);
  return { status: res.status, json: (await res.json()) as any };
};
const post = async (path: string, body?: unknown) => {
  const res = await fetch(`${server.url}${path}`, {
    method: 'POST',
    ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
  });
  const text = await res.text();
  return { status: res.status, json: text === '' ? undefined : JSON.parse(text) };
};

/** N images' worth of input, [N, 3, 8, 8], with distinct values per image and channel. */
function pixels(n: number): Float32Array {
  const data = new Float32Array(n * 3 * 64);
  for (let i = 0; i < data.length; i++) data[i] = ((i * 37) % 101) / 101 + Math.floor(i / 192) * 0.01;
  return data;
}

async function ortRun(session: ort.InferenceSession, feeds: Record<string, ort.Tensor>) {
  const out = await session.run(feeds);
  return Object.fromEntries(Object.entries(out).map(([k, t]) => [k, { dims: [...t.dims], data: Array.from(t.data as ArrayLike<number | bigint>) }]));
}

const values = (t: AnswerTensor | undefined) => t?.values.map((v) => (typeof v === 'boolean' ? Number(v) : v));

describe('server metadata and health', () => {
  it('names the server, its version and the extensions it speaks', async () => {
    const { status, json } = await get('/v2');
    expect(status).toBe(200);
    expect(json).toEqual({
      name: 'sightline',
      version: expect.any(String),
      extensions: ['binary_tensor_data', 'classification', 'model_configuration', 'model_repository', 'statistics'],
    });
  });

  it('answers the probes', async () => {
    expect(await get('/v2/health/live')).toEqual({ status: 200, json: { live: true } });
    expect(await get('/v2/health/ready')).toEqual({ status: 200, json: { ready: true } });
    expect(await get('/v2/models/cls/ready')).toEqual({ status: 200, json: { name: 'cls', ready: true } });
    expect(await get('/v2/models/cls/versions/1/ready')).toEqual({ status: 200, json: { name: 'cls', ready: true } });
    expect(await get('/v2/models/cls/versions/2/ready')).toEqual({ status: 404, json: { error: "model 'cls' has no version '2' serving; version 1 serves" } });
    expect(await get('/v2/models/nope/ready')).toEqual({ status: 404, json: { error: "model 'nope' is not in the repository" } });
  });

  it('describes each model: platform, versions, inputs and outputs with -1 for variable dims', async () => {
    expect(await get('/v2/models/cls')).toEqual({
      status: 200,
      json: {
        name: 'cls',
        versions: ['1'],
        platform: 'onnx_onnxv1',
        inputs: [{ name: 'input', datatype: 'FP32', shape: [-1, 3, 8, 8] }],
        outputs: [{ name: 'logits', datatype: 'FP32', shape: [-1, 3] }],
      },
    });
    // Triton's model configuration: the batch dim left out of dims, with max_batch_size.
    expect(await get('/v2/models/batchy/config')).toEqual({
      status: 200,
      json: {
        name: 'batchy',
        platform: 'onnxruntime_onnx',
        backend: 'onnxruntime',
        max_batch_size: 8,
        input: [{ name: 'input', data_type: 'TYPE_FP32', dims: [3, 8, 8] }],
        output: [{ name: 'logits', data_type: 'TYPE_FP32', dims: [3] }],
        dynamic_batching: { preferred_batch_size: [], max_queue_delay_microseconds: 300_000 },
        instance_group: [{ name: 'batchy', kind: 'KIND_CPU', count: 1 }],
      },
    });
    expect((await get('/v2/models/typed/versions/1/config')).json.input[0]).toEqual({ name: 'ids', data_type: 'TYPE_INT64', dims: [2] });
    const typedMeta = await get('/v2/models/typed/versions/1');
    const datatype = { int64: 'INT64', int32: 'INT32', uint8: 'UINT8', bool: 'BOOL', float16: 'FP16', float64: 'FP64', int8: 'INT8', float32: 'FP32' } as const;
    expect(typedMeta.json.inputs).toEqual(TYPED_PORTS.map((p) => ({ name: p.input, datatype: datatype[p.type], shape: [-1, 2] })));
    expect(typedMeta.json.outputs).toEqual(TYPED_PORTS.map((p) => ({ name: p.output, datatype: datatype[p.type], shape: [-1, 2] })));
  });
});

describe('tensor inference', () => {
  it('gives the same outputs in JSON and binary form, equal to ONNX Runtime on the same tensors', async () => {
    const data = pixels(2);
    const input: ClientTensor = { name: 'input', datatype: 'FP32', shape: [2, 3, 8, 8], data };
    const expected = await ortRun(clsSession, { input: new ort.Tensor('float32', data, [2, 3, 8, 8]) });
    const asJson = await infer(server.url, 'cls', [input], { id: 'req-7' });
    const asBinary = await infer(server.url, 'cls', [input], { binary: true, binaryOutputs: true });
    expect(asJson.status).toBe(200);
    expect(asJson.json).toMatchObject({ model_name: 'cls', model_version: '1', id: 'req-7' });
    expect(asJson.outputs.logits).toMatchObject({ datatype: 'FP32', shape: [2, 3], binary: false });
    expect(asBinary.status).toBe(200);
    expect(asBinary.headers.get('content-type')).toBe('application/octet-stream');
    expect(asBinary.json.id).toBeUndefined();
    expect(asBinary.outputs.logits).toMatchObject({ datatype: 'FP32', shape: [2, 3], binary: true });
    expect(asBinary.outputs.logits.values).toEqual(asJson.outputs.logits.values);
    expect(asJson.outputs.logits.values).toEqual(expected.logits.data);
  });

  it('takes and gives every element type a model declares, as ONNX Runtime computes it', async () => {
    const rows = 3;
    const inputs: ClientTensor[] = TYPED_PORTS.map((p) => {
      const n = rows * 2;
      const data =
        p.type === 'int64'
          ? Array.from({ length: n }, (_, i) => BigInt(i * 1000 - 2500))
          : p.type === 'bool'
            ? Array.from({ length: n }, (_, i) => i % 3 === 0)
            : p.type === 'float16'
              ? [0x3c00, 0xc000, 0x3555, 0x7bff, 0x0001, 0x8000] // 1, -2, ≈0.333, 65504, the smallest subnormal, -0
              : p.type === 'int8'
                ? [-128, 127, 0, -1, 5, 9]
                : p.type === 'uint8'
                  ? [0, 255, 1, 128, 7, 64]
                  : p.type === 'int32'
                    ? [2147483647, -2147483648, 0, 1, -1, 42]
                    : [0.5, -1.25, 3.0000001, 1e-7, 123456.789, -2.5];
      return {
        name: p.input,
        datatype: { int64: 'INT64', int32: 'INT32', uint8: 'UINT8', bool: 'BOOL', float16: 'FP16', float64: 'FP64', int8: 'INT8', float32: 'FP32' }[
          p.type as 'int64'
        ],
        shape: [rows, 2],
        data,
      };
    });
    const feeds: Record<string, ort.Tensor> = {};
    for (const [k, p] of TYPED_PORTS.entries()) {
      const raw = inputs[k].data as ReadonlyArray<number | bigint | boolean>;
      const arrays = {
        int64: BigInt64Array,
        int32: Int32Array,
        uint8: Uint8Array,
        bool: Uint8Array,
        float16: Uint16Array,
        float64: Float64Array,
        int8: Int8Array,
        float32: Float32Array,
      };
      const typedArray = (arrays[p.type] as any).from(raw.map((v) => (typeof v === 'boolean' ? Number(v) : v)));
      feeds[p.input] = new ort.Tensor(p.type as 'float32', typedArray, [rows, 2]);
    }
    const expected = await ortRun(typedSession, feeds);
    const binary = await infer(server.url, 'typed', inputs, { binary: true, binaryOutputs: true });
    expect(binary.status).toBe(200);
    for (const p of TYPED_PORTS) {
      expect(binary.outputs[p.output]?.shape, p.output).toEqual([rows, 2]);
      expect(values(binary.outputs[p.output]), p.output).toEqual(expected[p.output].data);
    }
    // JSON carries every type but FP16, which needs the binary form both ways (as Triton has it).
    const jsonInputs = inputs.map((t) => (t.datatype === 'FP16' ? { ...t } : t));
    const json = await infer(server.url, 'typed', jsonInputs, {
      binary: false,
      outputs: TYPED_PORTS.filter((p) => p.type !== 'float16').map((p) => ({ name: p.output })),
    });
    expect(json.status).toBe(400);
    expect(json.json).toEqual({ error: 'receiving FP16 data via JSON is not supported. Please use the binary data format for input half' });
    const mixed = await fetch(`${server.url}/v2/models/typed/infer`, {
      method: 'POST',
      ...(() => {
        // FP16 in binary, everything else as JSON data; FP16 asked back as binary.
        const half = inputs.find((t) => t.datatype === 'FP16')!;
        const { body: halfBody } = inferBody([half], { binary: true });
        const halfBytes = halfBody.subarray(halfBody.byteLength - 12);
        const header = Buffer.from(
          JSON.stringify({
            inputs: inputs.map((t) =>
              t.datatype === 'FP16'
                ? { name: t.name, shape: t.shape, datatype: 'FP16', parameters: { binary_data_size: 12 } }
                : {
                    name: t.name,
                    shape: t.shape,
                    datatype: t.datatype,
                    data: Array.from(t.data as ArrayLike<number | bigint | boolean>, (v) => (typeof v === 'bigint' ? Number(v) : v)),
                  },
            ),
            outputs: TYPED_PORTS.map((p) => ({ name: p.output, ...(p.type === 'float16' ? { parameters: { binary_data: true } } : {}) })),
          }),
        );
        return { body: Buffer.concat([header, halfBytes]), headers: { 'inference-header-content-length': String(header.byteLength) } };
      })(),
    });
    const answer = parseInferAnswer(mixed.status, mixed.headers, new Uint8Array(await mixed.arrayBuffer()));
    expect(answer.status).toBe(200);
    for (const p of TYPED_PORTS) {
      expect(answer.outputs[p.output]?.binary, p.output).toBe(p.type === 'float16');
      expect(
        values(answer.outputs[p.output])?.map((v) => (typeof v === 'bigint' ? Number(v) : v)),
        p.output,
      ).toEqual(expected[p.output].data.map((v) => (typeof v === 'bigint' ? Number(v) : v)));
    }
    // 64-bit integers keep every digit in JSON.
    const big = await infer(
      server.url,
      'typed',
      inputs.map((t) => (t.name === 'ids' ? { ...t, data: [9007199254740000n, 0n, 0n, 0n, 0n, 0n] } : t)),
      { binary: true, outputs: [{ name: 'ids_plus_10', binary: false }] },
    );
    expect(big.outputs.ids_plus_10.values[0]).toBe(9007199254740010);
  });

  it('splits a request holding a batch of 3 across the batcher and joins the rows back in order, batching them with other requests', async () => {
    const before = (await get('/v2/models/batchy/stats')).json.model_stats[0];
    const three = pixels(3);
    const single = (k: number) => pixels(4).subarray(k * 192, (k + 1) * 192);
    const [batch, one, other] = await Promise.all([
      infer(server.url, 'batchy', [{ name: 'input', datatype: 'FP32', shape: [3, 3, 8, 8], data: three }], { binary: true, binaryOutputs: true }),
      infer(server.url, 'batchy', [{ name: 'input', datatype: 'FP32', shape: [1, 3, 8, 8], data: single(3) }]),
      infer(server.url, 'batchy', [{ name: 'input', datatype: 'FP32', shape: [1, 3, 8, 8], data: single(2) }], { binary: true }),
    ]);
    const expected = await ortRun(clsSession, { input: new ort.Tensor('float32', three, [3, 3, 8, 8]) });
    expect(batch.status).toBe(200);
    expect(batch.outputs.logits.shape).toEqual([3, 3]);
    expect(batch.outputs.logits.values).toEqual(expected.logits.data);
    expect(one.outputs.logits.values).toEqual((await ortRun(clsSession, { input: new ort.Tensor('float32', single(3).slice(), [1, 3, 8, 8]) })).logits.data);
    expect(other.outputs.logits.values).toEqual((await ortRun(clsSession, { input: new ort.Tensor('float32', single(2).slice(), [1, 3, 8, 8]) })).logits.data);
    // The five rows ran as one batch of 5.
    const after = (await get('/v2/models/batchy/stats')).json.model_stats[0];
    const sizes = (s: any) => Object.fromEntries(s.batch_stats.map((b: any) => [b.batch_size, b.compute_infer.count]));
    expect(sizes(after)).toEqual({ ...sizes(before), 5: (sizes(before)[5] ?? 0) + 1 });
    expect(after.inference_count - before.inference_count).toBe(5);
    expect(after.execution_count - before.execution_count).toBe(1);
  });

  it('answers the top classes of an output as "<value>:<index>:<label>" strings (classification extension)', async () => {
    const data = pixels(2);
    const expected = (await ortRun(clsSession, { input: new ort.Tensor('float32', data, [2, 3, 8, 8]) })).logits.data as number[];
    const answer = await infer(server.url, 'cls', [{ name: 'input', datatype: 'FP32', shape: [2, 3, 8, 8], data }], {
      outputs: [{ name: 'logits', classification: 2 }],
    });
    expect(answer.status).toBe(200);
    expect(answer.outputs.logits).toMatchObject({ datatype: 'BYTES', shape: [2, 2] });
    const top = (row: number[]) =>
      row
        .map((v, i) => ({ v, i }))
        .sort((a, b) => b.v - a.v)
        .slice(0, 2)
        .map(({ v, i }) => `${v.toFixed(6)}:${i}:${labels[i]}`);
    expect(answer.outputs.logits.values).toEqual([...top(expected.slice(0, 3)), ...top(expected.slice(3, 6))]);
    const binary = await infer(server.url, 'cls', [{ name: 'input', datatype: 'FP32', shape: [2, 3, 8, 8], data }], {
      binary: true,
      outputs: [{ name: 'logits', classification: 5, binary: true }],
    });
    expect(binary.outputs.logits).toMatchObject({ datatype: 'BYTES', shape: [2, 3], binary: true });
    expect(binary.outputs.logits.values).toHaveLength(6);
  });

  it('takes a raw binary request (Inference-Header-Content-Length: 0) for a model with one input', async () => {
    const data = pixels(2);
    const { status, headers, body } = await (async () => {
      const res = await fetch(`${server.url}/v2/models/cls/infer`, {
        method: 'POST',
        body: new Uint8Array(data.buffer),
        headers: { 'inference-header-content-length': '0' },
      });
      return { status: res.status, headers: res.headers, body: new Uint8Array(await res.arrayBuffer()) };
    })();
    const answer = parseInferAnswer(status, headers, body);
    expect(answer.status).toBe(200);
    expect(answer.outputs.logits).toMatchObject({ shape: [2, 3], binary: true });
    expect(answer.outputs.logits.values).toEqual((await ortRun(clsSession, { input: new ort.Tensor('float32', data, [2, 3, 8, 8]) })).logits.data);
  });
});

describe('image inference', () => {
  it('runs BYTES images through the full path and answers as /v1/models/{name}/predict does', async () => {
    const red = await solidImage('png', 8, 8, [255, 0, 0]);
    const blue = await solidImage('png', 16, 12, [0, 0, 255]);
    const v1 = await Promise.all(
      [red, blue].map(
        async (img) =>
          (await (await fetch(`${server.url}/v1/models/cls/predict`, { method: 'POST', body: img, headers: { 'content-type': 'image/png' } })).json()) as any,
      ),
    );
    const answer = await infer(server.url, 'cls', [{ name: 'image', datatype: 'BYTES', shape: [2], data: [red, blue] }], { binary: true });
    expect(answer.status).toBe(200);
    expect(answer.outputs.answer).toMatchObject({ datatype: 'BYTES', shape: [2], binary: false });
    const answers = answer.outputs.answer.values.map((v) => JSON.parse(v as string));
    const stable = ({ latencyMs: _l, batchSize: _b, ...rest }: any) => rest;
    expect(answers.map(stable)).toEqual(v1.map(stable));
    expect(answers.map((a) => a.label)).toEqual(['red', 'blue']);
    // In JSON, images are base64 strings; the raw outputs come too when asked for by name.
    const json = await infer(server.url, 'cls', [{ name: 'image', datatype: 'BYTES', shape: [1], data: [Buffer.from(red.toString('base64'))] }], {
      outputs: [{ name: 'answer' }, { name: 'logits' }],
    });
    expect(json.status).toBe(200);
    expect(stable(JSON.parse(json.outputs.answer.values[0] as string))).toEqual(stable(v1[0]));
    expect(json.outputs.logits).toMatchObject({ datatype: 'FP32', shape: [1, 3] });
    const means = [1, 0, 0] as const;
    expect(json.outputs.logits.values).toEqual(classifier.logitsFor(means).map((v) => Math.fround(v)));
  });

  it('takes the image input and answer output under the names the manifest gives', async () => {
    const green = await solidImage('png', 8, 8, [0, 255, 0]);
    const answer = await infer(server.url, 'named', [{ name: 'photo', datatype: 'BYTES', shape: [1], data: [green] }], {
      binary: true,
      outputs: [{ name: 'verdict', binary: true }],
    });
    expect(answer.status).toBe(200);
    expect(answer.outputs.verdict).toMatchObject({ datatype: 'BYTES', shape: [1], binary: true });
    expect(JSON.parse(answer.outputs.verdict.values[0] as string).label).toBe('green');
    const wrong = await infer(server.url, 'named', [{ name: 'image', datatype: 'BYTES', shape: [1], data: [green] }], { binary: true });
    expect(wrong).toMatchObject({ status: 400, json: { error: expect.stringContaining("unexpected inference input 'image' for model 'named'") } });
  });
});

describe('errors: the protocol shape with the right status', () => {
  const input = (shape = [1, 3, 8, 8], datatype = 'FP32'): ClientTensor => ({
    name: 'input',
    datatype,
    shape,
    data: pixels(1).subarray(
      0,
      shape.reduce((a, b) => a * b, 1),
    ),
  });
  const onlyError = (json: Record<string, unknown>) => expect(Object.keys(json)).toEqual(['error']);

  it.each([
    ['an unknown model', 'nope', [input()], 404, "model 'nope' is not in the repository"],
    ['a wrong datatype', 'cls', [input(undefined, 'FP64')], 400, "inference input 'input' data-type is 'FP64', but model 'cls' expects 'FP32'"],
    ['a datatype the protocol does not have', 'cls', [input(undefined, 'FLOAT')], 400, "invalid datatype 'FLOAT' for input 'input'"],
    ['a wrong shape', 'cls', [input([1, 3, 4, 4])], 400, "unexpected shape for input 'input' for model 'cls'. Expected [-1,3,8,8], got [1,3,4,4]"],
    ['a wrong rank', 'cls', [input([3, 8, 8])], 400, "unexpected shape for input 'input' for model 'cls'. Expected [-1,3,8,8], got [3,8,8]"],
    [
      'an input the model lacks',
      'cls',
      [input(), { name: 'extra', datatype: 'FP32', shape: [1], data: [1] }],
      400,
      "unexpected inference input 'extra' for model 'cls'",
    ],
    [
      'a missing input',
      'typed',
      [{ name: 'ids', datatype: 'INT64', shape: [1, 2], data: [1n, 2n] }],
      400,
      "expected 8 inputs but got 1 inputs for model 'typed'",
    ],
  ])('%s', async (_what, model, inputs, status, message) => {
    for (const binary of [false, true]) {
      const answer = await infer(server.url, model, inputs, { binary });
      expect(answer.status).toBe(status);
      onlyError(answer.json);
      expect(answer.json.error).toContain(message);
    }
  });

  it('an output the model lacks, and classification of a type without an order', async () => {
    const unknown = await infer(server.url, 'cls', [input()], { outputs: [{ name: 'probabilities' }] });
    expect(unknown.json).toEqual({ error: "unexpected inference output 'probabilities' for model 'cls'; it gives 'logits'" });
    expect(unknown.status).toBe(400);
    const flags: ClientTensor[] = TYPED_PORTS.map((p) => ({
      name: p.input,
      datatype: { int64: 'INT64', int32: 'INT32', uint8: 'UINT8', bool: 'BOOL', float16: 'FP16', float64: 'FP64', int8: 'INT8', float32: 'FP32' }[
        p.type as 'int64'
      ],
      shape: [1, 2],
      data: p.type === 'int64' ? [1n, 2n] : p.type === 'bool' ? [true, false] : [1, 2],
    }));
    const unordered = await infer(server.url, 'typed', flags, { binary: true, outputs: [{ name: 'flags_not', classification: 1 }] });
    expect(unordered).toMatchObject({ status: 400, json: { error: "class result not available for output 'flags_not' due to unsupported type 'BOOL'" } });
    const json16 = await infer(server.url, 'typed', flags, { binary: true, outputs: [{ name: 'half_out' }] });
    expect(json16).toMatchObject({
      status: 400,
      json: { error: 'sending FP16 data via JSON is not supported. Please use the binary data format for output half_out' },
    });
  });

  it('a version that does not serve, and a model that does not', async () => {
    const wrongVersion = await infer(server.url, 'cls', [input()], { version: '9' });
    expect(wrongVersion).toMatchObject({ status: 404, json: { error: "model 'cls' has no version '9' serving; version 1 serves" } });
    expect((await post('/v2/repository/models/spare/unload')).status).toBe(200);
    const unloaded = await infer(server.url, 'spare', [input()]);
    expect(unloaded.status).toBe(503);
    expect(unloaded.headers.get('retry-after')).toBe('1');
    expect(unloaded.json).toEqual({ error: 'model spare is unloaded' });
    expect(await get('/v2/models/spare/ready')).toEqual({ status: 503, json: { error: 'model spare is unloaded' } });
    expect(await get('/v2/models/spare')).toEqual({ status: 503, json: { error: 'model spare is unloaded' } });
    expect((await post('/v2/repository/models/spare/load')).status).toBe(200);
    expect((await get('/v2/models/spare/ready')).json).toEqual({ name: 'spare', ready: true });
  });

  it('data that does not fill its shape, and elements of the wrong kind', async () => {
    const short = await postInfer(
      server.url,
      'cls',
      JSON.stringify({ inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 3, 8, 8], data: [1, 2, 3] }] }),
      {},
    );
    expect(short).toEqual({ status: 400, json: { error: "input 'input': data holds 3 elements; shape [1,3,8,8] has 192" } });
    const strings = await postInfer(server.url, 'cls', JSON.stringify({ inputs: [{ name: 'input', datatype: 'FP32', shape: [1], data: ['1'] }] }), {});
    expect(strings).toEqual({ status: 400, json: { error: 'input \'input\': element 0 is "1"; FP32 takes numbers' } });
    const notJson = await postInfer(server.url, 'cls', '{"inputs": [', {});
    expect(notJson.status).toBe(400);
    expect(notJson.json.error).toMatch(/^failed to parse the request JSON buffer: /);
    const noInputs = await postInfer(server.url, 'cls', JSON.stringify({ inputs: [] }), {});
    expect(noInputs).toEqual({ status: 400, json: { error: 'inputs: needs at least one input' } });
  });

  it('a header length or binary_data_size that does not match the body, and a truncated binary body', async () => {
    const { body, headers } = inferBody([input()], { binary: true });
    const headerLength = Number(headers['inference-header-content-length']);
    // binary_data_size says 768 bytes: cut the body short by 100 of them.
    const truncated = await postInfer(server.url, 'cls', body.subarray(0, body.byteLength - 100), headers);
    expect(truncated).toEqual({ status: 400, json: { error: "unexpected size for input 'input', expecting 100 additional bytes for model 'cls'" } });
    const extra = await postInfer(server.url, 'cls', Buffer.concat([body, Buffer.alloc(8)]), headers);
    expect(extra).toEqual({ status: 400, json: { error: "unexpected additional input data for model 'cls'" } });
    const longHeader = await postInfer(server.url, 'cls', body, { ...headers, 'inference-header-content-length': String(body.byteLength + 1) });
    expect(longHeader).toEqual({
      status: 400,
      json: { error: `inference header size should be in range (0, ${body.byteLength}), got: ${body.byteLength + 1}` },
    });
    const shortHeader = await postInfer(server.url, 'cls', body, { ...headers, 'inference-header-content-length': String(headerLength - 1) });
    expect(shortHeader.status).toBe(400);
    expect(shortHeader.json.error).toMatch(/^failed to parse the request JSON buffer: /);
    // A binary_data_size that is not the shape's size in bytes.
    const header = Buffer.from(JSON.stringify({ inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 3, 8, 8], parameters: { binary_data_size: 764 } }] }));
    const mismatch = await postInfer(server.url, 'cls', Buffer.concat([header, Buffer.alloc(764)]), {
      'inference-header-content-length': String(header.byteLength),
    });
    expect(mismatch).toEqual({ status: 400, json: { error: "unexpected total byte size 764 for input 'input', expecting 768 (shape [1,3,8,8] of FP32)" } });
    // Binary data without the header that says where the JSON ends.
    const noHeader = await postInfer(server.url, 'cls', header, {});
    expect(noHeader.status).toBe(400);
    expect(noHeader.json.error).toContain("must specify valid 'Inference-Header-Content-Length'");
    // A BYTES element whose length runs past the body.
    const image = Buffer.from(JSON.stringify({ inputs: [{ name: 'image', datatype: 'BYTES', shape: [1], parameters: { binary_data_size: 8 } }] }));
    const element = Buffer.from([200, 0, 0, 0, 1, 2, 3, 4]);
    const cut = await postInfer(server.url, 'cls', Buffer.concat([image, element]), { 'inference-header-content-length': String(image.byteLength) });
    expect(cut).toEqual({ status: 400, json: { error: "input 'image': BYTES element 0 says 200 bytes but 4 remain" } });
  });

  it('an image that is not one', async () => {
    const answer = await infer(server.url, 'cls', [{ name: 'image', datatype: 'BYTES', shape: [1], data: [Buffer.from('not an image at all')] }], {
      binary: true,
    });
    expect(answer.status).toBe(415);
    onlyError(answer.json);
  });
});

describe('statistics', () => {
  it("move as requests are served, /v1's included, with Triton's field names", async () => {
    const stats = async () => (await get('/v2/models/cls/stats')).json.model_stats[0];
    const before = await stats();
    expect(Object.keys(before)).toEqual(['name', 'version', 'last_inference', 'inference_count', 'execution_count', 'inference_stats', 'batch_stats']);
    expect(Object.keys(before.inference_stats)).toEqual([
      'success',
      'fail',
      'queue',
      'compute_input',
      'compute_infer',
      'compute_output',
      'cache_hit',
      'cache_miss',
    ]);
    await infer(server.url, 'cls', [{ name: 'input', datatype: 'FP32', shape: [2, 3, 8, 8], data: pixels(2) }], { binary: true });
    await fetch(`${server.url}/v1/models/cls/predict`, {
      method: 'POST',
      body: await solidImage('png', 8, 8, [9, 9, 9]),
      headers: { 'content-type': 'image/png' },
    });
    const after = await stats();
    expect(after.inference_count - before.inference_count).toBe(3);
    expect(after.inference_stats.success.count - before.inference_stats.success.count).toBe(3);
    expect(after.inference_stats.success.ns).toBeGreaterThan(before.inference_stats.success.ns);
    expect(after.inference_stats.queue.count - before.inference_stats.queue.count).toBe(3);
    for (const k of ['compute_input', 'compute_infer', 'compute_output']) {
      expect(after.inference_stats[k].count - before.inference_stats[k].count, k).toBe(3);
      expect(after.inference_stats[k].ns, k).toBeGreaterThan(before.inference_stats[k].ns);
    }
    expect(after.execution_count).toBeGreaterThan(before.execution_count);
    expect(after.last_inference).toBeGreaterThanOrEqual(before.last_inference);
    expect(after.last_inference).toBeLessThanOrEqual(Date.now());
    expect(after.inference_stats.cache_hit).toEqual({ count: 0, ns: 0 });
    const all = (await get('/v2/models/stats')).json.model_stats.map((s: any) => s.name);
    expect(all).toEqual(expect.arrayContaining(['batchy', 'cls', 'named', 'typed']));
    expect((await get('/v2/models/cls/versions/1/stats')).json.model_stats[0].name).toBe('cls');
    expect(await get('/v2/models/nope/stats')).toEqual({ status: 404, json: { error: "model 'nope' is not in the repository" } });
  });
});

describe('model repository extension', () => {
  it('indexes every model with its state, and loads and unloads', async () => {
    const index = await post('/v2/repository/index');
    expect(index.status).toBe(200);
    expect(index.json).toEqual(['batchy', 'cls', 'named', 'spare', 'typed'].map((name) => ({ name, version: expect.any(String), state: 'READY', reason: '' })));
    expect((await post('/v2/repository/models/typed/unload', { parameters: { unload_dependents: false } })).status).toBe(200);
    const after = await post('/v2/repository/index', {});
    expect(after.json.find((e: any) => e.name === 'typed')).toEqual({ name: 'typed', version: '1', state: 'UNAVAILABLE', reason: 'unloaded' });
    expect((await post('/v2/repository/index', { ready: true })).json.map((e: any) => e.name)).toEqual(['batchy', 'cls', 'named', 'spare']);
    expect(await post('/v2/repository/models/typed/load', { parameters: { config: '{}' } })).toEqual({
      status: 400,
      json: { error: 'load takes no parameters here (models load from their folder in the repository as it is); got config' },
    });
    expect(await post('/v2/repository/models/typed/load')).toEqual({ status: 200, json: undefined });
    expect((await get('/v2/models/typed')).json.versions).toEqual(['2']);
    expect(await post('/v2/repository/models/nope/load')).toMatchObject({ status: 404 });
  });
});
