import type { BoxXYXY, ImageGeometry } from './types.js';

export type Point = [number, number];

const clamp = (v: number, lo: number, hi: number) => (v < lo ? lo : v > hi ? hi : v);

/**
 * Maps rings traced on an output map back to original image pixels. Traced vertices are pixel
 * centres (column i is x = i), so a vertex sits at continuous coordinate i + 0.5 of the map; the
 * map may be smaller than the model input (it is scaled by tensor size / map size), and the input
 * relates to the original image through the resize/letterbox transform.
 */
export class PolygonMapper {
  private readonly sx: number;
  private readonly sy: number;

  constructor(
    private readonly geometry: ImageGeometry,
    mapWidth: number,
    mapHeight: number,
  ) {
    this.sx = geometry.tensor.width / mapWidth;
    this.sy = geometry.tensor.height / mapHeight;
  }

  private x(mapX: number): number {
    return ((mapX + 0.5) * this.sx - this.geometry.transform.padX) / this.geometry.transform.scaleX;
  }

  private y(mapY: number): number {
    return ((mapY + 0.5) * this.sy - this.geometry.transform.padY) / this.geometry.transform.scaleY;
  }

  /**
   * The ring in original pixels, clamped to the image. Clamping can make neighbouring vertices
   * equal; the repeats are dropped so clients get no zero-length edges.
   */
  ring(flat: Float64Array): Point[] {
    const { width, height } = this.geometry.original;
    const out: Point[] = [];
    for (let i = 0; i < flat.length; i += 2) {
      const x = clamp(this.x(flat[i]), 0, width);
      const y = clamp(this.y(flat[i + 1]), 0, height);
      const last = out[out.length - 1];
      if (last === undefined || last[0] !== x || last[1] !== y) out.push([x, y]);
    }
    while (out.length > 1 && out[0][0] === out[out.length - 1][0] && out[0][1] === out[out.length - 1][1]) out.pop();
    return out;
  }

  /**
   * True when the ring lies wholly outside the image, in the letterbox padding: clamping would
   * flatten it onto the image border, a polygon with no extent that describes no image pixels.
   * A connected ring whose bounds miss the image misses it entirely.
   */
  outsideImage(flat: Float64Array): boolean {
    let minX = Infinity;
    let minY = Infinity;
    let maxX = -Infinity;
    let maxY = -Infinity;
    for (let i = 0; i < flat.length; i += 2) {
      const x = this.x(flat[i]);
      const y = this.y(flat[i + 1]);
      if (x < minX) minX = x;
      if (x > maxX) maxX = x;
      if (y < minY) minY = y;
      if (y > maxY) maxY = y;
    }
    const { width, height } = this.geometry.original;
    return maxX <= 0 || maxY <= 0 || minX >= width || minY >= height;
  }
}

/** Shoelace area of a closed ring (either orientation). */
export function ringArea(points: readonly Point[]): number {
  let twice = 0;
  for (let i = 0, n = points.length; i < n; i++) {
    const [x0, y0] = points[i];
    const [x1, y1] = points[i + 1 === n ? 0 : i + 1];
    twice += x0 * y1 - x1 * y0;
  }
  return Math.abs(twice) / 2;
}

export function boundsOf(points: readonly Point[]): BoxXYXY {
  let x1 = Infinity;
  let y1 = Infinity;
  let x2 = -Infinity;
  let y2 = -Infinity;
  for (const [x, y] of points) {
    if (x < x1) x1 = x;
    if (y < y1) y1 = y;
    if (x > x2) x2 = x;
    if (y > y2) y2 = y;
  }
  return points.length === 0 ? [0, 0, 0, 0] : [x1, y1, x2, y2];
}
