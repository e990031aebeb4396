import type { z } from 'zod';

/** One item's slice of a batch output; the batch dimension is kept as 1, e.g. `[1, C]`. */
export interface ItemTensor {
  dims: readonly number[];
  data: Float32Array | Int32Array | BigInt64Array | Uint8Array;
}

/**
 * Where the item's pixels came from. Coordinates are continuous (pixel edges):
 * originalX = (tensorX − padX) / scaleX, originalY = (tensorY − padY) / scaleY.
 */
export interface ImageGeometry {
  /** The image as the client sent it, after EXIF orientation. */
  original: { width: number; height: number };
  /** The model input size for this item. */
  tensor: { width: number; height: number };
  transform: { scaleX: number; scaleY: number; padX: number; padY: number };
}

/**
 * Post-processing for one task. `options` parses the manifest's `head` object (defaults filled in,
 * issues carry the field path); `run` is pure and synchronous so it can run right after inference.
 */
export interface Head<O, R> {
  task: string;
  options: z.ZodType<O>;
  run(outputs: Record<string, ItemTensor>, geometry: ImageGeometry, options: O): R;
  /**
   * Checks the options against the outputs the loaded model declares (name → dims, symbolic dims
   * as strings) and returns what does not fit, with the head field at fault; checked at load.
   */
  checkOutputs?(outputs: Record<string, ReadonlyArray<number | string>>, options: O): { field: string; message: string } | undefined;
}

/** An axis-aligned box `[x1, y1, x2, y2]` in original image pixels, x1 ≤ x2 and y1 ≤ y2. */
export type BoxXYXY = [number, number, number, number];
