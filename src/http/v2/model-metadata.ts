import type { ModelVersion } from '../../engine/model-version.js';
import { datatypeOf, type Datatype } from './datatypes.js';
import { PIPELINE_NAMES, type Target } from './model-target.js';

export interface MetadataTensor {
  name: string;
  datatype: string;
  shape: number[];
}

/**
 * The model's own inputs, as its runtime declares them (-1 for a variable dim). A TensorFlow.js
 * model declares none here: its one input is described from the manifest's layout and size.
 */
export function modelInputs(version: ModelVersion): MetadataTensor[] {
  const declared = version.info?.inputTensors;
  if (declared !== undefined) return declared.map((t) => ({ name: t.name, datatype: datatypeOf(t.type), shape: [...t.dims] }));
  const { input } = version.spec;
  const h = input.height ?? -1;
  const w = input.width ?? -1;
  return [
    {
      name: input.name ?? version.info?.inputNames[0] ?? 'input',
      datatype: input.dtype === 'uint8' ? 'UINT8' : 'FP32',
      shape: input.layout === 'NCHW' ? [-1, 3, h, w] : [-1, h, w, 3],
    },
  ];
}

/** The model's outputs; without declared types (TensorFlow.js) they are taken as FP32, dims as far as known. */
export function modelOutputs(version: ModelVersion): MetadataTensor[] {
  const info = version.info;
  if (info?.outputTensors !== undefined) return info.outputTensors.map((t) => ({ name: t.name, datatype: datatypeOf(t.type), shape: [...t.dims] }));
  return (info?.outputNames ?? []).map((name) => ({
    name,
    datatype: 'FP32',
    shape: (info?.outputDims?.[name] ?? []).map((d) => (typeof d === 'number' && d >= 0 ? d : -1)),
  }));
}

function platformOf(version: ModelVersion): string {
  const { spec } = version;
  if (spec.backend === 'onnx') return 'onnx_onnxv1';
  if (spec.tfjs?.format === 'graph') return 'tensorflowjs_graphdef';
  if (spec.tfjs?.format === 'layers') return 'tensorflowjs_layers';
  return 'tensorflowjs';
}

/**
 * Model metadata as the protocol writes it. A model lists its own tensors (what perf_analyzer and
 * other clients generate data for); its BYTES image input and answer output are documented, not
 * listed. A pipeline takes only encoded images, so it lists those.
 */
export function modelMetadata(target: Target): { name: string; versions: string[]; platform: string; inputs: MetadataTensor[]; outputs: MetadataTensor[] } {
  if (target.kind === 'pipeline') {
    const bytes: Datatype = 'BYTES';
    return {
      name: target.name,
      versions: [String(target.version)],
      platform: 'ensemble',
      inputs: [{ name: PIPELINE_NAMES.imageInput, datatype: bytes, shape: [-1] }],
      outputs: [{ name: PIPELINE_NAMES.answerOutput, datatype: bytes, shape: [-1] }],
    };
  }
  const { version } = target;
  return {
    name: target.name,
    versions: [String(version.version)],
    platform: platformOf(version),
    inputs: modelInputs(version),
    outputs: modelOutputs(version),
  };
}
