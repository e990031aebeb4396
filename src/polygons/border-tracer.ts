/**
 * Suzuki–Abe border following (8-connected foreground, 4-connected background) on a padded
 * Int8Array, producing contours the way OpenCV's findContours(RETR_CCOMP, CHAIN_APPROX_SIMPLE)
 * reports them. Mirrors native/border_tracer.cc step for step.
 */

/** Pixel states in the padded image (one zero pixel of frame on every side). */
export const BACKGROUND = 0;
export const UNVISITED = 1;
/** On a followed border. */
export const VISITED = 2;
/** On a followed border whose right neighbour (a 0) was examined. */
export const VISITED_RIGHT_ZERO = -2;

// Direction codes in image coordinates (y down): 0 is +x, and codes increase counter-clockwise
// as seen on screen (1 is up-right, 2 is up, ..., 6 is down, 7 is down-right).
const DX = [1, 1, 0, -1, -1, -1, 0, 1] as const;
const DY = [0, -1, -1, -1, 0, 1, 1, 1] as const;
const LEFT = 4;
const RIGHT = 0;

export class BorderTracer {
  /** x, y interleaved, image coordinates (pixel centres). */
  readonly points: number[] = [];
  /** Per contour: first point index (in points), point count, hole (0/1), a run of its component, label. */
  readonly contourStart: number[] = [];
  readonly contourCount: number[] = [];
  readonly contourHole: number[] = [];
  readonly contourRun: number[] = [];
  readonly contourLabel: number[] = [];

  private readonly offsets: Int32Array;
  private readonly stride: number;

  /** @param marks (width + 2) × (height + 2) padded image of BACKGROUND / UNVISITED */
  constructor(
    private readonly marks: Int8Array,
    stride: number,
  ) {
    this.stride = stride;
    this.offsets = new Int32Array(8);
    for (let d = 0; d < 8; d++) this.offsets[d] = DX[d] + DY[d] * stride;
  }

  /**
   * Handles one maximal run of non-zero pixels [c0, c1) of padded row r, whose id is `run`. Runs
   * must arrive in raster order. An unvisited first pixel (its left neighbour is 0) starts the
   * outer border of a new component; a last pixel whose right neighbour has not been examined
   * yet starts a hole border.
   */
  processRun(r: number, c0: number, c1: number, run: number, label: number): void {
    const first = r * this.stride + c0;
    const last = r * this.stride + c1 - 1;
    const y = r - 1;
    let outerStarted = false;
    if (this.marks[first] === UNVISITED) {
      this.follow(first, LEFT, false, run, label, c0 - 1, y);
      outerStarted = true;
    }
    // The run start that just began an outer border is not checked again: for one pixel the two
    // tests are alternatives.
    if (!(outerStarted && last === first) && this.marks[last] >= UNVISITED) {
      this.follow(last, RIGHT, true, run, label, c1 - 2, y);
    }
  }

  /** Follows one border from start, whose zero neighbour lies in direction fromDir. */
  private follow(start: number, fromDir: number, hole: boolean, run: number, label: number, x: number, y: number): void {
    const m = this.marks;
    const offsets = this.offsets;
    const points = this.points;
    const pointStart = points.length / 2;

    // Look clockwise around the start, beginning next to its zero neighbour, for the border's
    // last pixel (the one the walk returns from).
    let found = -1;
    let d = fromDir;
    for (let k = 0; k < 7; k++) {
      d = (d + 7) & 7;
      if (m[start + offsets[d]] !== BACKGROUND) {
        found = d;
        break;
      }
    }
    if (found < 0) {
      // An isolated pixel: a one-point contour.
      m[start] = VISITED_RIGHT_ZERO;
      points.push(x, y);
      this.addContour(pointStart, 1, hole, run, label);
      return;
    }

    const last = start + offsets[found];
    // CHAIN_APPROX_SIMPLE keeps a pixel only where the walk changes direction; the walk enters
    // the start pixel from the last one.
    let incoming = (found + 4) & 7;
    let current = start;
    let back = found;
    for (;;) {
      // Examine the neighbours counter-clockwise, starting just after the previous pixel.
      let rightZero = false;
      let s = back;
      let next: number;
      for (;;) {
        s = (s + 1) & 7;
        next = current + offsets[s];
        if (m[next] !== BACKGROUND) break;
        if (s === RIGHT) rightZero = true;
      }
      if (rightZero) {
        m[current] = VISITED_RIGHT_ZERO;
      } else if (m[current] === UNVISITED) {
        m[current] = VISITED;
      }
      if (s !== incoming) {
        points.push(x, y);
        incoming = s;
      }
      x += DX[s];
      y += DY[s];
      if (next === start && current === last) break;
      back = (s + 4) & 7;
      current = next;
    }
    this.addContour(pointStart, points.length / 2 - pointStart, hole, run, label);
  }

  private addContour(start: number, count: number, hole: boolean, run: number, label: number): void {
    this.contourStart.push(start);
    this.contourCount.push(count);
    this.contourHole.push(hole ? 1 : 0);
    this.contourRun.push(run);
    this.contourLabel.push(label);
  }
}
