import { outputMismatch } from './output-error.js';
import type { NumericData } from './tensor-access.js';

export type DetectLayout = 'auto' | 'channels-first' | 'anchors-first';
export type BoxFormat = 'cxcywh' | 'xyxy';

/** Where the value of channel c for anchor a lives: `data[a * anchorStride + c * channelStride]`. */
export interface DetectGrid {
  anchors: number;
  channelStride: number;
  anchorStride: number;
}

export interface DecodeOptions {
  /** Number of classes; the channel axis holds 4 box values, the optional objectness, then the classes. */
  classes: number;
  objectness: boolean;
  boxFormat: BoxFormat;
  scoreThreshold: number;
  /** 1 for each class index to keep; candidates of other classes are skipped. All kept when absent. */
  keep?: Uint8Array | undefined;
}

/** Candidates that passed the score threshold, in anchor order. */
export interface Candidates {
  count: number;
  /** `[x1, y1, x2, y2]` per candidate, tensor pixels. */
  boxes: Float64Array;
  scores: Float64Array;
  classes: Int32Array;
}

const TASK = 'detect';

/**
 * Resolves the axis order of a `[1, 4+C, A]` (channels first, as Ultralytics exports) or
 * `[1, A, 4+C]` (anchors first) output; with objectness the channel count is 5+C. In 'auto', the
 * axis equal to the channel count is the channel axis; when both are, channels first wins.
 */
export function resolveGrid(dims: readonly number[], head: { classes: number; objectness: boolean }, layout: DetectLayout): DetectGrid {
  const channels = (head.objectness ? 5 : 4) + head.classes;
  const expected = `${channels} channels (4 box values${head.objectness ? ', objectness' : ''} and ${head.classes} class scores)`;
  const shape = `[${dims.join(', ')}]`;
  if (dims.length !== 3 || dims[0] !== 1) {
    throw outputMismatch(TASK, `expected output dims [1, ${channels}, A] or [1, A, ${channels}], got ${shape}`);
  }
  const [, d1, d2] = dims as [number, number, number];
  let channelsFirst: boolean;
  if (layout === 'auto') {
    if (d1 !== channels && d2 !== channels) {
      // [1, K, 6] is the usual shape of a model that decodes its own boxes; say how to read it.
      const hint = d2 === 6 ? '; an output of rows x1, y1, x2, y2, score, class needs layout "decoded"' : '';
      throw outputMismatch(TASK, `no axis of output ${shape} matches ${expected}${hint}`);
    }
    channelsFirst = d1 === channels;
  } else {
    channelsFirst = layout === 'channels-first';
    const channelAxis = channelsFirst ? d1 : d2;
    if (channelAxis !== channels) {
      throw outputMismatch(TASK, `output ${shape} read as ${layout} has ${channelAxis} channels, expected ${expected}`);
    }
  }
  return channelsFirst ? { anchors: d2, channelStride: d2, anchorStride: 1 } : { anchors: d1, channelStride: 1, anchorStride: d2 };
}

/**
 * One candidate per anchor: its best class (ties: lower class index), scored by class probability,
 * times objectness when the model has that column. Candidates scoring below the threshold are skipped.
 */
export function decodeCandidates(data: NumericData, grid: DetectGrid, options: DecodeOptions): Candidates {
  const { anchors, channelStride: cs, anchorStride: as } = grid;
  const { classes, objectness, scoreThreshold, keep } = options;
  const firstClass = objectness ? 5 : 4;
  const found = new CandidateList(anchors, options.boxFormat);
  for (let a = 0; a < anchors; a++) {
    const base = a * as;
    let best = 0;
    let bestScore = data[base + firstClass * cs];
    for (let c = 1; c < classes; c++) {
      const s = data[base + (firstClass + c) * cs];
      if (s > bestScore) {
        bestScore = s;
        best = c;
      }
    }
    const score = objectness ? bestScore * data[base + 4 * cs] : bestScore;
    if (!(score >= scoreThreshold)) continue;
    if (keep !== undefined && keep[best] === 0) continue;

    found.add(data[base], data[base + cs], data[base + 2 * cs], data[base + 3 * cs], score, best);
  }
  return found.done();
}

/** Candidates as a decoder finds them: room for `capacity`, boxes stored as corners. */
export class CandidateList {
  private count = 0;
  private readonly boxes: Float64Array;
  private readonly scores: Float64Array;
  private readonly classes: Int32Array;
  private readonly xyxy: boolean;

  constructor(capacity: number, boxFormat: BoxFormat) {
    this.boxes = new Float64Array(capacity * 4);
    this.scores = new Float64Array(capacity);
    this.classes = new Int32Array(capacity);
    this.xyxy = boxFormat === 'xyxy';
  }

  /** Adds a box given as `boxFormat` says: centre and size are converted to `[x1, y1, x2, y2]`. */
  add(v0: number, v1: number, v2: number, v3: number, score: number, cls: number): void {
    const o = this.count * 4;
    const { boxes } = this;
    if (this.xyxy) {
      boxes[o] = v0;
      boxes[o + 1] = v1;
      boxes[o + 2] = v2;
      boxes[o + 3] = v3;
    } else {
      boxes[o] = v0 - v2 / 2;
      boxes[o + 1] = v1 - v3 / 2;
      boxes[o + 2] = v0 + v2 / 2;
      boxes[o + 3] = v1 + v3 / 2;
    }
    this.scores[this.count] = score;
    this.classes[this.count] = cls;
    this.count++;
  }

  done(): Candidates {
    return { count: this.count, boxes: this.boxes, scores: this.scores, classes: this.classes };
  }
}
