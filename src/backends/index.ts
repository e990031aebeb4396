import type { SessionSpec } from './session-spec.js';
import type { LoadedModel } from './backend.js';

export type { LoadedModel, Runtime, SessionInfo, TensorData } from './backend.js';

/**
 * Loads a model with the backend its manifest names. Each backend is imported only when a model
 * needs it, so a worker thread holds one runtime: ONNX Runtime's native library stays out of
 * TensorFlow.js workers and the other way round.
 */
export async function openModel(spec: SessionSpec): Promise<LoadedModel> {
  switch (spec.backend) {
    case 'tfjs':
      return (await import('./tfjs.js')).createTfjsModel(spec);
    case 'onnx':
      return (await import('./onnx.js')).createOnnxSession(spec);
  }
}
