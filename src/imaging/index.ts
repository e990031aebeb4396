export {
  type ColorOrder,
  type ImageInputSpec,
  type ResizeKernel,
  type ResizeMode,
  assertImageInputSpec,
  DEFAULT_BACKGROUND,
  DEFAULT_LETTERBOX_PAD,
  DEFAULT_MAX_SIDE,
  DEFAULT_MULTIPLE,
  DEFAULT_PAD,
  imageInputSpecProblems,
  MAX_TENSOR_SIDE,
  RESIZE_KERNELS,
  RESIZE_MODES,
} from './input-spec.js';
export { type ImageFormat, type SniffedImage, describeUnsupportedImage, IMAGE_MEDIA_TYPES, sniffImage, SUPPORTED_IMAGE_FORMATS } from './sniff.js';
export { type ImageLimits, type ProbedImage, DEFAULT_IMAGE_LIMITS, probeImage } from './probe.js';
export { checkDecodes, decodeOptions } from './decode-check.js';
export { type ResizePlan, planResize } from './resize-plan.js';
export { type PixelImage, type PreparedImage, type RasterImage, decodeForModel, prepareImage, resampled } from './prepare.js';
export { type Raster, type ResampleTarget, resampleInto } from './resample.js';
export { type Box, type ImageTransform, type Size, boxToOriginal, toOriginal, toTensor } from './transform.js';
export { type PixelSource, type TensorLayout, type TensorNorm, type TensorSlot, fillTensor, fillTensorUint8, slotElements } from './tensor-fill.js';
