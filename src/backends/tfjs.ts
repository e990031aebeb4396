import type * as TF from '@tensorflow/tfjs';
import type { SessionSpec } from './session-spec.js';
import type { LoadedModel, SessionInfo, TensorData } from './backend.js';
import { detectTfjsFormat, readTfjsArtifacts, type TfjsFormat } from './tfjs-artifacts.js';
import { chooseTfjsRuntime, type RuntimeProbes, type Tf } from './tfjs-runtime.js';

type Runner = (input: TF.Tensor, inputName: string, outputNames: readonly string[]) => Promise<TF.Tensor[]>;

/**
 * Loads a TensorFlow.js layers or graph model for one worker thread: reads it from disk, picks the
 * runtime (tfjs-node-gpu, tfjs-node or WebAssembly), warms it up with one zero image when the input
 * size is fixed, and runs batches as NHWC (or whatever the model takes) tensors.
 */
export async function createTfjsModel(spec: SessionSpec, probes?: RuntimeProbes): Promise<LoadedModel> {
  const artifacts = await readTfjsArtifacts(spec.file);
  const format: TfjsFormat | undefined = spec.tfjs?.format ?? detectTfjsFormat(artifacts);
  if (!format) throw new Error(`${spec.file}: cannot tell a layers model from a graph model; set tfjs.format in the manifest`);

  const runtime = await chooseTfjsRuntime(spec, probes);
  const { tf } = runtime;
  const handler = tf.io.fromMemory(artifacts);

  let inputNames: string[];
  let outputNames: string[];
  let inputShape: Array<number | null> | undefined;
  let execute: Runner;
  let dispose: () => void;
  if (format === 'layers') {
    const model = await tf.loadLayersModel(handler);
    dispose = () => model.dispose();
    // Layer names: a Sequential model leaves inputNames/outputNames empty, its tensors still know their layers.
    inputNames = model.inputs.map((t) => t.sourceLayer.name);
    outputNames = model.outputs.map((t) => t.sourceLayer.name);
    inputShape = model.inputs[0]?.shape;
    execute = async (input, _name, wanted) => {
      const y = model.predict(input);
      const all = Array.isArray(y) ? y : [y];
      const picked = wanted.map((n) => all[outputNames.indexOf(n)]);
      for (const t of all) if (!picked.includes(t)) t.dispose();
      return picked;
    };
  } else {
    const model = await tf.loadGraphModel(handler);
    dispose = () => model.dispose();
    inputNames = [...model.inputNodes];
    outputNames = [...model.outputNodes];
    inputShape = model.inputs[0]?.shape?.map((d) => (d < 0 ? null : d));
    // execute() is synchronous and cheaper; graphs with control flow or dynamic shapes need executeAsync().
    let needsAsync = false;
    execute = async (input, name, wanted) => {
      if (!needsAsync) {
        try {
          const y = model.execute({ [name]: input }, [...wanted]);
          return Array.isArray(y) ? y : [y];
        } catch (err) {
          if (!/executeAsync/.test((err as Error).message)) throw err;
          needsAsync = true;
        }
      }
      const y = await model.executeAsync({ [name]: input }, [...wanted]);
      return Array.isArray(y) ? y : [y];
    };
  }
  if (inputNames.length !== 1) throw new Error(`${spec.file}: image models take one input; this one takes ${inputNames.length} (${inputNames.join(', ')})`);
  if (spec.input.name !== undefined && !inputNames.includes(spec.input.name)) {
    throw new Error(`${spec.file}: input "${spec.input.name}" not found; the model's input is "${inputNames[0]}"`);
  }
  for (const name of spec.outputs ?? []) {
    if (!outputNames.includes(name)) throw new Error(`${spec.file}: output "${name}" not found; the model's outputs are ${outputNames.join(', ')}`);
  }

  const info: SessionInfo = {
    device: runtime.device,
    runtime: runtime.name,
    fallbackReason: runtime.fallbackReason,
    notes: runtime.notes,
    inputNames,
    outputNames,
    intraOpThreads: runtime.intraOpThreads,
  };

  const run = async (inputName: string, input: TensorData, wanted?: readonly string[]): Promise<Record<string, TensorData>> => {
    const names = wanted ?? outputNames;
    const x = toTensor(tf, input);
    let outputs: TF.Tensor[] = [];
    try {
      outputs = await execute(x, inputName, names);
      const result: Record<string, TensorData> = {};
      for (let i = 0; i < names.length; i++) {
        const t = outputs[i];
        result[names[i]] = { dims: [...t.shape], data: await t.data() };
      }
      return result;
    } finally {
      x.dispose();
      for (const t of outputs) t.dispose();
    }
  };

  // The first run compiles kernels and sizes buffers; do it now rather than in a client's request.
  if (inputShape && inputShape.slice(1).every((d) => typeof d === 'number' && d > 0)) {
    const dims = [1, ...(inputShape.slice(1) as number[])];
    const size = dims.reduce((a, b) => a * b, 1);
    await run(inputNames[0], { dims, data: spec.input.dtype === 'uint8' ? new Uint8Array(size) : new Float32Array(size) });
  }
  return { info, run, release: async () => dispose() };
}

/** The batch as a tensor; TensorFlow.js has no uint8 tensors, so bytes become int32. */
function toTensor(tf: Tf, input: TensorData): TF.Tensor {
  if (input.data instanceof Float32Array) return tf.tensor(input.data, input.dims, 'float32');
  if (input.data instanceof Int32Array) return tf.tensor(input.data, input.dims, 'int32');
  if (input.data instanceof Uint8Array) return tf.tensor(Int32Array.from(input.data), input.dims, 'int32');
  throw new Error('TensorFlow.js backend: int64 inputs are not supported');
}
