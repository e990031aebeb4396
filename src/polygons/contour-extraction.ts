import { BACKGROUND, BorderTracer, UNVISITED } from './border-tracer.js';
import type { PolygonRequest } from './request.js';
import { RunComponents } from './run-components.js';

/**
 * Turns a validated request into traced contours grouped by connected component; mirrors
 * native/contour_extraction.cc.
 */

export interface ExtractedContours {
  tracer: BorderTracer;
  /** Per contour: index into the component arrays. */
  contourComponent: Int32Array;
  /**
   * Per component, in the order their outer borders were found (by label, ascending, then raster
   * order): outer contour index, label, sum of values over its pixels, pixel count.
   */
  componentOuter: number[];
  componentLabel: number[];
  componentSum: number[];
  componentPixels: number[];
  scored: boolean;
}

/** Per-run figures gathered while scanning, folded into components once connectivity is known. */
interface RunTotals {
  length: number[];
  valueSum: number[];
}

/** The padded image: one zero pixel of frame on every side. */
interface PaddedImage {
  stride: number;
  marks: Int8Array;
}

function paddedImage(width: number, height: number): PaddedImage {
  const stride = width + 2;
  return { stride, marks: new Int8Array(stride * (height + 2)) };
}

/**
 * Groups contours by component: every run of a component shares a union–find root, and the one
 * outer border traced from that component names it.
 */
function resolveComponents(tracer: BorderTracer, runs: RunComponents, totals: RunTotals, scored: boolean): ExtractedContours {
  const componentOfRoot = new Int32Array(runs.size).fill(-1);
  const contourCount = tracer.contourStart.length;
  const out: ExtractedContours = {
    tracer,
    contourComponent: new Int32Array(contourCount),
    componentOuter: [],
    componentLabel: [],
    componentSum: [],
    componentPixels: [],
    scored,
  };
  for (let i = 0; i < contourCount; i++) {
    if (tracer.contourHole[i]) continue;
    componentOfRoot[runs.find(tracer.contourRun[i])] = out.componentOuter.length;
    out.componentOuter.push(i);
    out.componentLabel.push(tracer.contourLabel[i]);
    out.componentSum.push(0);
    out.componentPixels.push(0);
  }
  for (let i = 0; i < contourCount; i++) out.contourComponent[i] = componentOfRoot[runs.find(tracer.contourRun[i])]!;
  for (let run = 0; run < runs.size; run++) {
    const component = componentOfRoot[runs.find(run)];
    out.componentPixels[component] += totals.length[run];
    if (scored) out.componentSum[component] += totals.valueSum[run];
  }
  return out;
}

function traceBinary(image: PaddedImage, width: number, height: number, probabilities: Float32Array | null): ExtractedContours {
  const { marks, stride } = image;
  const tracer = new BorderTracer(marks, stride);
  const runs = new RunComponents();
  const totals: RunTotals = { length: [], valueSum: [] };
  const end = width + 1;
  for (let r = 1; r <= height; r++) {
    const row = r * stride;
    let c = 1;
    while (c < end) {
      while (c < end && marks[row + c] === BACKGROUND) c++;
      if (c >= end) break;
      const c0 = c;
      while (marks[row + c] !== BACKGROUND) c++; // the frame pixel at `end` is zero
      const run = runs.add(r, c0, c);
      tracer.processRun(r, c0, c, run, 1);
      totals.length.push(c - c0);
      if (probabilities !== null) {
        const base = (r - 1) * width + (c0 - 1);
        let runSum = 0;
        for (let i = 0; i < c - c0; i++) runSum += probabilities[base + i];
        totals.valueSum.push(runSum);
      }
    }
  }
  return resolveComponents(tracer, runs, totals, probabilities !== null);
}

function fromMask(data: Uint8Array, width: number, height: number): ExtractedContours {
  const image = paddedImage(width, height);
  for (let y = 0; y < height; y++) {
    const row = (y + 1) * image.stride + 1;
    const src = y * width;
    for (let x = 0; x < width; x++) image.marks[row + x] = data[src + x] !== 0 ? UNVISITED : BACKGROUND;
  }
  return traceBinary(image, width, height, null);
}

function fromProbabilities(data: Float32Array, width: number, height: number, threshold: number): ExtractedContours {
  const image = paddedImage(width, height);
  for (let y = 0; y < height; y++) {
    const row = (y + 1) * image.stride + 1;
    const src = y * width;
    for (let x = 0; x < width; x++) {
      const v = data[src + x];
      if (!Number.isFinite(v)) {
        throw new RangeError(`input.data[${src + x}] is not a finite number; probabilities must be finite`);
      }
      image.marks[row + x] = v > threshold ? UNVISITED : BACKGROUND;
    }
  }
  return traceBinary(image, width, height, data);
}

/**
 * Each label is traced as its own binary mask: its runs are drawn into a shared zeroed image,
 * traced in raster order, then erased again, so the cost follows the label's pixels.
 */
function fromLabels(data: Uint8Array | Int32Array, width: number, height: number, background: number): ExtractedContours {
  // Runs as [label, padded row, c0, c1) quadruples, raster order.
  const labelRuns: number[] = [];
  for (let y = 0; y < height; y++) {
    const src = y * width;
    let x = 0;
    while (x < width) {
      const v = data[src + x];
      let e = x + 1;
      while (e < width && data[src + e] === v) e++;
      if (v !== background) labelRuns.push(v, y + 1, x + 1, e + 1);
      x = e;
    }
  }
  const runCount = labelRuns.length / 4;
  // Label by label; raster order kept within each label.
  const order = Array.from({ length: runCount }, (_, i) => i);
  order.sort((a, b) => labelRuns[4 * a] - labelRuns[4 * b] || a - b);

  const { marks, stride } = paddedImage(width, height);
  const tracer = new BorderTracer(marks, stride);
  const components = new RunComponents();
  const totals: RunTotals = { length: [], valueSum: [] };
  let begin = 0;
  while (begin < runCount) {
    const label = labelRuns[4 * order[begin]];
    let end = begin;
    while (end < runCount && labelRuns[4 * order[end]] === label) end++;
    for (let i = begin; i < end; i++) {
      const k = 4 * order[i];
      const row = labelRuns[k + 1] * stride;
      marks.fill(UNVISITED, row + labelRuns[k + 2], row + labelRuns[k + 3]);
    }
    components.separate();
    for (let i = begin; i < end; i++) {
      const k = 4 * order[i];
      const [r, c0, c1] = [labelRuns[k + 1], labelRuns[k + 2], labelRuns[k + 3]];
      tracer.processRun(r, c0, c1, components.add(r, c0, c1), label);
      totals.length.push(c1 - c0);
    }
    for (let i = begin; i < end; i++) {
      const k = 4 * order[i];
      const row = labelRuns[k + 1] * stride;
      marks.fill(BACKGROUND, row + labelRuns[k + 2], row + labelRuns[k + 3]);
    }
    begin = end;
  }
  return resolveComponents(tracer, components, totals, false);
}

export function extractContours(request: PolygonRequest): ExtractedContours {
  const { width, height } = request;
  switch (request.kind) {
    case 'mask':
      return fromMask(request.data as Uint8Array, width, height);
    case 'probability':
      return fromProbabilities(request.data as Float32Array, width, height, request.threshold);
    case 'labels':
      return fromLabels(request.data as Uint8Array | Int32Array, width, height, request.background);
  }
}
