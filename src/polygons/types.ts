/**
 * Public shapes of the mask → polygon API, shared by the native addon and the TypeScript
 * implementation.
 *
 * Coordinates are pixel centres in image coordinates (x right, y down), as OpenCV reports them:
 * the pixel in column 3, row 4 is the point (3, 4). Rings are flat `[x0, y0, x1, y1, …]` and
 * implicitly closed. Outer rings run counter-clockwise *as seen on screen with y pointing down*
 * (left side downward, bottom rightward, …), holes clockwise; equivalently the shoelace sum
 * Σ (x_i·y_{i+1} − x_{i+1}·y_i) is negative for outer rings and positive for holes.
 */

/** A binary mask: any non-zero byte is foreground. */
export interface MaskInput {
  kind: 'mask';
  data: Uint8Array;
  width: number;
  height: number;
}

/** A probability map: foreground is `p > threshold` (default 0.5). Every value must be finite. */
export interface ProbabilityInput {
  kind: 'probability';
  data: Float32Array;
  width: number;
  height: number;
  threshold?: number;
}

/** A label map: one set of regions per label except `background` (default 0). */
export interface LabelInput {
  kind: 'labels';
  data: Uint8Array | Int32Array;
  width: number;
  height: number;
  background?: number;
}

export type PolygonInput = MaskInput | ProbabilityInput | LabelInput;

export interface PolygonOptions {
  /** Douglas–Peucker tolerance in pixels. Default 0: contours exactly as traced. */
  epsilon?: number;
  /** Tolerance as a fraction of each ring's perimeter (PaddleOCR uses 0.002). Excludes `epsilon`. */
  epsilonRatio?: number;
  /** Regions whose `area` (after simplification, before unclip) is smaller are dropped. Default 0. */
  minArea?: number;
  /** At most this many regions per label, largest area first. Default: all. */
  maxPolygons?: number;
  /**
   * DB-style unclip: grow each outer ring by area × ratio / perimeter with round joins, as
   * PaddleOCR's DB post-processing does with pyclipper. Holes are dropped and `area`/`bbox`
   * describe the grown ring. Default 0: no growth.
   */
  unclipRatio?: number;
}

export interface Region {
  /** The label (1 for masks and probability maps). */
  label: number;
  /** Outer ring, counter-clockwise on screen (y down). */
  outer: Float64Array;
  /** Hole rings, clockwise on screen (y down), in the order they were found. */
  holes: Float64Array[];
  /**
   * Shoelace area of the returned rings: outer minus holes. With pixel-centre coordinates a
   * solid w×h block of pixels has area (w − 1)(h − 1), and one-pixel-wide shapes have area 0.
   */
  area: number;
  /** `[minX, minY, maxX, maxY]` over the outer ring's vertices (inclusive; a lone pixel at (3, 4) gives [3, 4, 3, 4]). */
  bbox: [number, number, number, number];
  /** Probability maps only: mean probability over the region's pixels (its 8-connected component). */
  score?: number;
}

/**
 * Regions packed into flat tables; both implementations produce this, and `unpackRegions`
 * turns it into `Region` objects.
 *   coords:  x, y interleaved for every ring
 *   rings:   per ring [offset into coords, point count]
 *   regions: per region REGION_FIELDS numbers, see RegionField
 */
export interface PackedRegions {
  coords: Float64Array;
  rings: Uint32Array;
  regions: Float64Array;
  scored: boolean;
}

export const RegionField = {
  label: 0,
  area: 1,
  minX: 2,
  minY: 3,
  maxX: 4,
  maxY: 5,
  score: 6,
  firstRing: 7,
  ringCount: 8,
} as const;
export const REGION_FIELDS = 9;

export type PolygonImplementation = 'native' | 'typescript';
/** What a server may ask for: one implementation, or `auto` (the addon when it loaded, else TypeScript). */
export const POLYGON_CHOICES = ['auto', 'native', 'typescript'] as const;
export type PolygonChoice = (typeof POLYGON_CHOICES)[number];
