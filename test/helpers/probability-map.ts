/** A `[1, 1, height, width]` probability map built from filled rectangles (inclusive pixel bounds). */
export class ProbabilityMap {
  readonly data: Float32Array;
  constructor(
    readonly width: number,
    readonly height: number,
    /** The model output name the map is reported under. */
    readonly outputName = 'probabilities',
  ) {
    this.data = new Float32Array(width * height);
  }
  fill(x0: number, y0: number, x1: number, y1: number, value: number): this {
    for (let y = y0; y <= y1; y++) for (let x = x0; x <= x1; x++) this.data[y * this.width + x] = value;
    return this;
  }
  get outputs() {
    return { [this.outputName]: { dims: [1, 1, this.height, this.width], data: this.data } };
  }
}
