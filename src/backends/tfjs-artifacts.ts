import { readFile } from 'node:fs/promises';
import path from 'node:path';
import vm from 'node:vm';
import type { io } from '@tensorflow/tfjs';

export type TfjsFormat = 'layers' | 'graph';

interface ModelJson {
  modelTopology?: unknown;
  weightsManifest?: Array<{ paths: string[]; weights: io.WeightsManifestEntry[] }>;
  format?: string;
  generatedBy?: string;
  convertedBy?: string | null;
  signature?: unknown;
  userDefinedMetadata?: Record<string, unknown>;
  modelInitializer?: unknown;
  initializerSignature?: unknown;
  trainingConfig?: unknown;
}

/**
 * Reads a TensorFlow.js model from disk without network access: a `model.json` with its weight
 * shards beside it (the format `tf.io` saves), or the same model bundled as JavaScript modules, as
 * npm packages such as nsfwjs ship it (`model.min.js` exporting the model.json object, one
 * `<shard>.min.js` per weight shard exporting its bytes as base64).
 */
export async function readTfjsArtifacts(file: string): Promise<io.ModelArtifacts> {
  const bundled = file.endsWith('.js');
  const json = (bundled ? evaluateBundle(await readFile(file, 'utf8'), file) : JSON.parse(await readFile(file, 'utf8'))) as ModelJson;
  if (json === null || typeof json !== 'object' || json.modelTopology === undefined) {
    throw new Error(`${file}: not a TensorFlow.js model (no modelTopology)`);
  }
  const dir = path.dirname(file);
  const shardSuffix = bundled ? (file.endsWith('.min.js') ? '.min.js' : '.js') : '';
  const weightSpecs: io.WeightsManifestEntry[] = [];
  const shards: Uint8Array[] = [];
  for (const group of json.weightsManifest ?? []) {
    for (const shard of group.paths) {
      const shardFile = path.resolve(dir, shard + shardSuffix);
      if (bundled) {
        const base64 = evaluateBundle(await readFile(shardFile, 'utf8'), shardFile);
        if (typeof base64 !== 'string') throw new Error(`${shardFile}: expected a module exporting base64 weights`);
        shards.push(Buffer.from(base64, 'base64'));
      } else {
        shards.push(await readFile(shardFile));
      }
    }
    weightSpecs.push(...group.weights);
  }
  const weightData = new Uint8Array(shards.reduce((n, s) => n + s.byteLength, 0));
  let offset = 0;
  for (const shard of shards) {
    weightData.set(shard, offset);
    offset += shard.byteLength;
  }
  const artifacts: io.ModelArtifacts = { modelTopology: json.modelTopology as io.ModelArtifacts['modelTopology'], weightSpecs, weightData: weightData.buffer };
  for (const key of [
    'format',
    'generatedBy',
    'convertedBy',
    'signature',
    'userDefinedMetadata',
    'modelInitializer',
    'initializerSignature',
    'trainingConfig',
  ] as const) {
    if (json[key] !== undefined && json[key] !== null) (artifacts as Record<string, unknown>)[key] = json[key];
  }
  return artifacts;
}

/** Layers or graph model, from the manifest's `format` field or the shape of its topology. */
export function detectTfjsFormat(artifacts: io.ModelArtifacts): TfjsFormat | undefined {
  if (artifacts.format === 'layers-model') return 'layers';
  if (artifacts.format === 'graph-model') return 'graph';
  const topology = artifacts.modelTopology as Record<string, unknown> | undefined;
  if (topology && Array.isArray(topology.node)) return 'graph';
  if (topology && ('model_config' in topology || 'class_name' in topology)) return 'layers';
  return undefined;
}

/**
 * The value a CommonJS/UMD bundle assigns to `module.exports`. It runs in an empty context (no
 * require, no process, no globals of this one) with a time limit; the result is copied through JSON
 * into this realm, because TensorFlow.js fails on objects created in another context.
 */
function evaluateBundle(code: string, file: string): unknown {
  const mod: { exports: unknown } = { exports: {} };
  try {
    vm.runInNewContext(code, { module: mod, exports: mod.exports }, { filename: file, timeout: 30_000 });
  } catch (err) {
    throw new Error(`${file}: could not read the bundled model: ${(err as Error).message}`);
  }
  return typeof mod.exports === 'string' ? mod.exports : JSON.parse(JSON.stringify(mod.exports));
}
