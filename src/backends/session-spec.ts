import type { TfjsFormat } from './tfjs-artifacts.js';

/**
 * What a backend reads of a model's spec to open and check it: the file, where and how it runs,
 * and the input and output names it must find. The engine's ModelSpec (engine/manifest.ts) extends it.
 */
export interface SessionSpec {
  backend: 'onnx' | 'tfjs';
  /** Absolute path of the model file. */
  file: string;
  tfjs: { format?: TfjsFormat } | undefined;
  input: { name?: string; dtype: 'float32' | 'uint8' };
  outputs: string[] | undefined;
  device: 'cpu' | 'cuda';
  deviceId: number;
  strict: boolean;
  intraOpThreads: number;
  memoryArena: boolean;
  /** The CUDA execution provider's options as the manifest names them (those not passed on are listed). */
  cuda: Record<string, unknown> | undefined;
}
