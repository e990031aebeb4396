/**
 * Connected components of foreground runs (8-connectivity) by union–find: runs in consecutive
 * rows belong together when their column ranges overlap or touch diagonally. Memory follows the
 * number of runs, not the image size. Mirrors native/run_components.cc.
 */
export class RunComponents {
  private readonly parent: number[] = [];
  // Runs of the previous and current row as [c0, c1, id] triples.
  private previous: number[] = [];
  private current: number[] = [];
  private row = -1;
  /** First run of `previous` that can still touch the next run of this row. */
  private cursor = 0;

  get size(): number {
    return this.parent.length;
  }

  /**
   * Registers run [c0, c1) of row r and joins it with the touching runs of row r − 1. Runs must
   * arrive in raster order. Returns the run's id (0, 1, 2, …).
   */
  add(r: number, c0: number, c1: number): number {
    if (r !== this.row) {
      if (r === this.row + 1) {
        const swap = this.previous;
        this.previous = this.current;
        this.current = swap;
      } else {
        this.previous.length = 0;
      }
      this.current.length = 0;
      this.row = r;
      this.cursor = 0;
    }
    const id = this.parent.length;
    this.parent.push(id);
    this.current.push(c0, c1, id);
    // Pixels [c0, c1) touch pixels [p0, p1) of the row above when p0 <= c1 and c0 <= p1.
    const prev = this.previous;
    while (this.cursor < prev.length && prev[this.cursor + 1] < c0) this.cursor += 3;
    for (let k = this.cursor; k < prev.length && prev[k] <= c1; k += 3) this.join(id, prev[k + 2]);
    return id;
  }

  /** Forgets the current row, so the next run joins nothing above it (a new label's first run). */
  separate(): void {
    this.previous.length = 0;
    this.current.length = 0;
    this.row = -1;
    this.cursor = 0;
  }

  /** Representative run of the component holding `run`. */
  find(run: number): number {
    const parent = this.parent;
    while (parent[run] !== run) {
      parent[run] = parent[parent[run]]!; // path halving
      run = parent[run]!;
    }
    return run;
  }

  private join(a: number, b: number): void {
    let ra = this.find(a);
    let rb = this.find(b);
    if (ra === rb) return;
    if (ra < rb) [ra, rb] = [rb, ra];
    this.parent[ra] = rb;
  }
}
