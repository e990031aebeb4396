/**
 * The reference for the `objects` model: @vladmandic/human's own object module (CenterNet, its
 * decoding and NMS) on TensorFlow.js WebAssembly in the test process. Human fetches its models by
 * URL, so a loopback HTTP server hands it the package's model files.
 */
import { readFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import path from 'node:path';
import type * as TF from '@tensorflow/tfjs';
import { resolvePackageFile } from '../../dist/src/engine/package-path.js';

const require = createRequire(import.meta.url);

/** One of Human's object results: `box` in input pixels (truncated), `boxRaw` as fractions of the input, x, y, width, height. */
export interface HumanObject {
  score: number;
  class: number;
  label: string;
  box: [number, number, number, number];
  boxRaw: [number, number, number, number];
}

interface HumanInstance {
  tf: typeof TF;
  load(): Promise<void>;
  detect(input: TF.Tensor): Promise<{ object: HumanObject[]; error?: string | null }>;
}

export interface HumanObjects {
  /** Human's object results for RGB pixels `[height, width, 3]` given as a float tensor. */
  detect(pixels: Uint8Array, width: number, height: number): Promise<HumanObject[]>;
  tf: typeof TF;
  close(): Promise<void>;
}

// The package's exports map offers only its tfjs-node build; the WebAssembly one is reached by path.
const humanWasmBuild = resolvePackageFile('@vladmandic/human/dist/human.node-wasm.js', path.dirname(new URL(import.meta.url).pathname))!;
export const humanModelsDir = path.join(path.dirname(humanWasmBuild), '..', 'models');

export async function startHumanObjects(options: { minConfidence: number; iouThreshold: number; maxDetected: number }): Promise<HumanObjects> {
  const files = http.createServer((req, res) => {
    const name = path.basename(req.url ?? '');
    if (!/^centernet\.(json|bin)$/.test(name)) return void res.writeHead(404).end();
    readFile(path.join(humanModelsDir, name)).then(
      (bytes) => res.end(bytes),
      () => res.writeHead(404).end(),
    );
  });
  await new Promise<void>((resolve) => files.listen(0, '127.0.0.1', resolve));
  const { port } = files.address() as AddressInfo;

  const { Human } = require(humanWasmBuild) as { Human: new (config: object) => HumanInstance };
  const off = { enabled: false };
  const human = new Human({
    backend: 'wasm',
    wasmPath: `${path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm'))}${path.sep}`,
    modelBasePath: `http://127.0.0.1:${port}/`,
    cacheModels: false,
    warmup: 'none',
    debug: false,
    filter: off,
    face: off,
    body: off,
    hand: off,
    gesture: off,
    segmentation: off,
    // Every frame is detected afresh (no reuse of the previous frame's result).
    object: { enabled: true, skipFrames: 0, skipTime: 0, ...options },
  });
  await human.load();
  return {
    tf: human.tf,
    async detect(pixels, width, height) {
      const input = human.tf.tensor4d(Float32Array.from(pixels), [1, height, width, 3], 'float32');
      try {
        const result = await human.detect(input);
        if (result.error) throw new Error(`human: ${result.error}`);
        return result.object;
      } finally {
        input.dispose();
      }
    },
    close: () => new Promise<void>((resolve) => files.close(() => resolve())),
  };
}
