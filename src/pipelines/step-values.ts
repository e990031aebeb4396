import type { DecodedImage } from '../imaging/raster-input.js';
import type { Quad } from './quad.js';

/** Why one crop has no value at a step: the step that failed for it and its error. */
export interface ItemError {
  step: string;
  code: string;
  message: string;
}

/** One crop's value at a per-crop step, or the error that stopped it (with its region, when known). */
export type Slot<T> = { ok: true; value: T } | { ok: false; error: ItemError; quad?: Quad };

/** A region cut out of the request's image. */
export interface Crop {
  image: DecodedImage;
  /** Where it came from, in image pixels, in the crop's reading frame (tl, tr, br, bl). */
  quad: Quad;
  /** The source region's own fields (score, label), for the answer. */
  region: Record<string, unknown>;
  /** Degrees the crop was turned after cutting (rotate steps). */
  turned: number;
}

/** What a step hands to later ones. */
export type StepValue = { kind: 'answer'; value: unknown } | { kind: 'crops'; items: Slot<Crop>[] } | { kind: 'answers'; items: Slot<unknown>[] };
