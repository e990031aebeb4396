/**
 * Writes one prepared image into its slot of a batch tensor. Runs in worker threads once per image,
 * so the loops avoid per-pixel allocation and divisions (a 256-entry table per channel instead).
 */

export type TensorLayout = 'NCHW' | 'NHWC';

export interface TensorNorm {
  layout: TensorLayout;
  mean: readonly [number, number, number];
  std: readonly [number, number, number];
  /** Applied first: value = (pixel · scale − mean[c]) / std[c]; e.g. 1/255. */
  scale: number;
  /** Channel order the model wants; pixels are RGB, so BGR reads them swapped. mean/std are in this order. Default RGB. */
  colorOrder?: 'RGB' | 'BGR';
}

/** The pixels to write: HWC, 3 channels, tightly packed. */
export interface PixelSource {
  pixels: Uint8Array;
  width: number;
  height: number;
}

/**
 * The slot's size when it is larger than the image (a batch of different widths, e.g. text lines):
 * the image goes top-left and every other element of the slot is set to `fill`, a value written as
 * is (after normalisation for float tensors; default 0, as PaddleOCR pads its normalised tensors).
 */
export interface TensorSlot {
  width: number;
  height: number;
  fill?: number;
}

/** Elements one image slot takes in the tensor. */
export const slotElements = (width: number, height: number) => width * height * 3;

function checkArgs(targetLength: number, offset: number, image: PixelSource, slot: TensorSlot | undefined) {
  const { width, height, pixels } = image;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new RangeError(`bad image size ${width}×${height}`);
  }
  if (pixels.length !== width * height * 3) {
    throw new RangeError(`pixels hold ${pixels.length} bytes, ${width}×${height}×3 needs ${width * height * 3}`);
  }
  const sw = slot?.width ?? width;
  const sh = slot?.height ?? height;
  if (sw < width || sh < height) throw new RangeError(`slot ${sw}×${sh} is smaller than the image ${width}×${height}`);
  if (!Number.isInteger(offset) || offset < 0 || offset + slotElements(sw, sh) > targetLength) {
    throw new RangeError(`slot at ${offset} (+${slotElements(sw, sh)}) does not fit a tensor of ${targetLength} elements`);
  }
  return { sw, sh };
}

/** value[c][p] = (p · scale − mean[c]) / std[c], computed in double exactly as documented, stored as float32. */
function normTable(norm: TensorNorm): Float32Array {
  const table = new Float32Array(768);
  for (let c = 0; c < 3; c++) {
    const mean = norm.mean[c];
    const std = norm.std[c];
    for (let p = 0; p < 256; p++) table[c * 256 + p] = (p * norm.scale - mean) / std;
  }
  return table;
}

/** Writes `image` normalised into `target` starting at element `offsetElements` (the slot of one batch item). */
export function fillTensor(target: Float32Array, offsetElements: number, image: PixelSource, norm: TensorNorm, slot?: TensorSlot): void {
  const { sw, sh } = checkArgs(target.length, offsetElements, image, slot);
  writePixels(target, offsetElements, image, sw, sh, norm.layout, norm.colorOrder === 'BGR', normTable(norm), slot?.fill ?? 0);
}

/** Pixel values as they are: the uint8 tensors' table. */
const IDENTITY = Uint8Array.from({ length: 768 }, (_, i) => i & 255);

/** The uint8 variant for models that take raw pixels: no normalisation, just layout (and slot padding). */
export function fillTensorUint8(
  target: Uint8Array,
  offsetElements: number,
  image: PixelSource,
  layout: TensorLayout,
  slot?: TensorSlot,
  colorOrder: 'RGB' | 'BGR' = 'RGB',
): void {
  const { sw, sh } = checkArgs(target.length, offsetElements, image, slot);
  const { pixels, width, height } = image;
  if (layout === 'NHWC' && colorOrder === 'RGB') {
    // The tensor's rows are the image's rows: copied whole.
    if (sw === width && sh === height) {
      target.set(pixels, offsetElements);
      return;
    }
    target.fill(slot?.fill ?? 0, offsetElements, offsetElements + slotElements(sw, sh));
    for (let y = 0; y < height; y++) {
      target.set(pixels.subarray(y * width * 3, (y + 1) * width * 3), offsetElements + y * sw * 3);
    }
    return;
  }
  writePixels(target, offsetElements, image, sw, sh, layout, colorOrder === 'BGR', IDENTITY, slot?.fill ?? 0);
}

/**
 * The pixel loops: each channel's byte through its 256 entries of `table` (channel c at c · 256),
 * into the slot's top-left corner, tensor channels 0 and 2 read swapped for BGR. One loop per
 * layout keeps the strides constants the compiler can see.
 */
function writePixels<T extends Float32Array | Uint8Array>(
  target: T,
  offsetElements: number,
  image: PixelSource,
  sw: number,
  sh: number,
  layout: TensorLayout,
  bgr: boolean,
  table: T,
  fill: number,
): void {
  const { pixels, width, height } = image;
  // Source channel for tensor channels 0 and 2.
  const c0 = bgr ? 2 : 0;
  const c2 = 2 - c0;
  if (sw !== width || sh !== height) target.fill(fill, offsetElements, offsetElements + slotElements(sw, sh));
  if (layout === 'NHWC') {
    for (let y = 0; y < height; y++) {
      let src = y * width * 3;
      let dst = offsetElements + y * sw * 3;
      for (let x = 0; x < width; x++) {
        target[dst] = table[pixels[src + c0]]!;
        target[dst + 1] = table[256 + pixels[src + 1]]!;
        target[dst + 2] = table[512 + pixels[src + c2]]!;
        src += 3;
        dst += 3;
      }
    }
    return;
  }
  const plane = sw * sh;
  for (let y = 0; y < height; y++) {
    let src = y * width * 3;
    let dst = offsetElements + y * sw;
    for (let x = 0; x < width; x++) {
      target[dst] = table[pixels[src + c0]]!;
      target[dst + plane] = table[256 + pixels[src + 1]]!;
      target[dst + 2 * plane] = table[512 + pixels[src + c2]]!;
      src += 3;
      dst += 1;
    }
  }
}
