import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadPipelineManifest } from '../dist/src/pipelines/manifest.js';
import { convexHull, growQuad, minAreaRect, turnQuad180, uprightQuad, type Point, type Quad } from '../dist/src/pipelines/quad.js';
import { turn180, warpQuad } from '../dist/src/pipelines/warp.js';
import { writePipeline } from './helpers/pipeline-repo.js';

/** The corners of the axis-aligned box x0..x1 × y0..y1, clockwise from the top left. */
const box = (x0: number, y0: number, x1: number, y1: number): Quad => [
  [x0, y0],
  [x1, y0],
  [x1, y1],
  [x0, y1],
];
const close = (a: readonly Point[], b: readonly Point[], digits = 9) => {
  expect(a).toHaveLength(b.length);
  a.forEach((p, i) => {
    expect(p[0]).toBeCloseTo(b[i][0], digits);
    expect(p[1]).toBeCloseTo(b[i][1], digits);
  });
};

/** The corners of a w × h rectangle centred at (cx, cy), turned by `degrees` (clockwise on screen, y down), from its top-left. */
function rectangle(cx: number, cy: number, w: number, h: number, degrees: number): Quad {
  const t = (degrees * Math.PI) / 180;
  const u: Point = [Math.cos(t), Math.sin(t)];
  const v: Point = [-Math.sin(t), Math.cos(t)];
  const at = (a: number, b: number): Point => [cx + a * u[0] + b * v[0], cy + a * u[1] + b * v[1]];
  return [at(-w / 2, -h / 2), at(w / 2, -h / 2), at(w / 2, h / 2), at(-w / 2, h / 2)];
}

describe('upright quadrilaterals of text regions', () => {
  it('finds the minimum-area rectangle of a slanted polygon', () => {
    const r = rectangle(100, 50, 120, 20, 20);
    // Extra points inside and on the edges do not change it.
    const points: Point[] = [...r, [100, 50], [(r[0][0] + r[1][0]) / 2, (r[0][1] + r[1][1]) / 2]];
    expect(convexHull(points)).toHaveLength(4);
    const rect = minAreaRect(points);
    expect(rect.centre[0]).toBeCloseTo(100, 9);
    expect(rect.centre[1]).toBeCloseTo(50, 9);
    expect([rect.halfU, rect.halfV].sort((a, b) => a - b)).toEqual([expect.closeTo(10, 9), expect.closeTo(60, 9)]);
  });

  it('reads a line along its longer side, left to right, whatever vertex the polygon starts at', () => {
    const r = rectangle(100, 50, 120, 20, 20);
    close(uprightQuad(r), r);
    close(uprightQuad([r[2], r[3], r[0], r[1]]), r);
    close(uprightQuad([...r].reverse()), r);
    // Turned by 200°, the same rectangle: left to right here; telling upside down apart is the classifier's job.
    close(uprightQuad(rectangle(100, 50, 120, 20, 200)), r);
    close(uprightQuad(rectangle(100, 50, 120, 20, -30)), rectangle(100, 50, 120, 20, -30));
  });

  it('reads a region at least 1.5 × taller than wide top to bottom (the crop turns 90° counter-clockwise)', () => {
    const tall = rectangle(50, 100, 20, 90, 0);
    // The crop's top-left is the region's top-right: its right edge becomes the crop's top.
    close(uprightQuad(tall), [
      [60, 55],
      [60, 145],
      [40, 145],
      [40, 55],
    ]);
    // A nearly square region keeps the horizontal reading.
    close(uprightQuad(rectangle(50, 100, 20, 28, 0)), rectangle(50, 100, 20, 28, 0));
  });

  it('turns a quad by 180° and grows it in its own frame', () => {
    const q = rectangle(100, 50, 120, 20, 20);
    expect(turnQuad180(q)).toEqual([q[2], q[3], q[0], q[1]]);
    close(growQuad(q, 5), rectangle(100, 50, 130, 30, 20));
  });
});

/** A w × h RGB image whose pixel (x, y) is [x, y, x + 10·y] (distinct everywhere). */
function gradient(w: number, h: number) {
  const pixels = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) pixels.set([x, y, x + 10 * y], (y * w + x) * 3);
  return { pixels, width: w, height: h };
}
const at = (img: { pixels: Uint8Array; width: number }, x: number, y: number) => [...img.pixels.subarray((y * img.width + x) * 3, (y * img.width + x) * 3 + 3)];

describe('warping a quadrilateral upright', () => {
  const src = gradient(8, 6);

  it('copies an axis-aligned region on whole pixels exactly', () => {
    const out = warpQuad(src, box(2, 1, 6, 4), 4, 3);
    for (let y = 0; y < 3; y++) for (let x = 0; x < 4; x++) expect(at(out, x, y)).toEqual(at(src, x + 2, y + 1));
  });

  it('averages each 2 × 2 block when halving', () => {
    const out = warpQuad(src, box(0, 0, 4, 4), 2, 2);
    const mean = (x: number, y: number) =>
      [0, 1, 2].map((c) => Math.round((at(src, x, y)[c] + at(src, x + 1, y)[c] + at(src, x, y + 1)[c] + at(src, x + 1, y + 1)[c]) / 4));
    expect(at(out, 0, 0)).toEqual(mean(0, 0));
    expect(at(out, 1, 1)).toEqual(mean(2, 2));
  });

  it('turns a tall region 90° counter-clockwise, and 180° by reversing', () => {
    // The 2 × 4 block at x 3..5, y 1..5 read top to bottom.
    const quad = uprightQuad(box(3, 1, 5, 5));
    const out = warpQuad(src, quad, 4, 2);
    for (let j = 0; j < 2; j++) for (let i = 0; i < 4; i++) expect(at(out, i, j)).toEqual(at(src, 4 - j, 1 + i));
    const turned = turn180(out);
    for (let j = 0; j < 2; j++) for (let i = 0; i < 4; i++) expect(at(turned, i, j)).toEqual(at(out, 3 - i, 1 - j));
  });

  it('repeats the border for a region reaching past the image', () => {
    const out = warpQuad(src, box(-2, 0, 2, 1), 4, 1);
    expect([0, 1, 2, 3].map((x) => at(out, x, 0))).toEqual([at(src, 0, 0), at(src, 0, 0), at(src, 0, 0), at(src, 1, 0)]);
  });
});

describe('pipeline manifests', () => {
  const load = (manifest: Record<string, unknown>) => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'sightline-pipeline-'));
    writePipeline(dir, 'p', manifest);
    return () => loadPipelineManifest(path.join(dir, 'p'));
  };
  const steps = [
    { id: 'detect', op: 'predict', model: 'text-detect' },
    { id: 'lines', op: 'crop', from: 'detect', heightFrom: 'text-recognize' },
    { id: 'read', op: 'map', model: 'text-recognize', over: 'lines' },
  ];
  const output = { items: 'lines', as: 'lines', fields: { text: 'read.text' } };
  const fails = (manifest: Record<string, unknown>, message: string) => {
    const run = load(manifest);
    expect(run).toThrow(`p/model.json: ${message}`);
  };

  it('reads a valid manifest with its defaults and the models its steps name', () => {
    const spec = load({ steps, output })();
    expect(spec.name).toBe('p');
    expect(spec.models).toEqual(['text-detect', 'text-recognize']);
    expect(spec.steps[1]).toEqual({ id: 'lines', op: 'crop', from: 'detect', heightFrom: 'text-recognize', upright: true, margin: 0, maxWidth: 4096 });
    expect(spec.output).toEqual({ items: 'lines', as: 'lines', fields: { text: 'read.text' }, geometry: true, order: 'reading' });
    expect(spec.batchAcrossRequests).toBe(true);
  });

  it('names the field of each mistake', () => {
    fails(
      { steps: [...steps, { id: 'x', op: 'blur' }], output },
      "steps.3.op: Invalid discriminator value. Expected 'predict' | 'crop' | 'map' | 'rotate' | 'rules'",
    );
    fails({ steps: [steps[0], steps[2], steps[1]], output }, 'steps.1.over: step "lines" comes later; a step may only use earlier ones');
    fails({ steps: [steps[0], { ...steps[1], from: 'nothing' }, steps[2]], output }, 'steps.1.from: no step "nothing"');
    fails(
      { steps: [...steps, { id: 'again', op: 'map', model: 'm', over: 'detect' }], output },
      'steps.3.over: step "detect" (predict) gives answer, not crops',
    );
    fails({ steps: [...steps, { ...steps[2] }], output }, 'steps.3.id: duplicate step id "read"');
    fails({ steps: [steps[0], { ...steps[1], height: 48 }, steps[2]], output }, 'steps.1.heightFrom: give height or heightFrom, not both');
    fails({ steps: [...steps, { id: 'input', op: 'predict', model: 'm' }], output }, 'steps.3.id: "input" names the request\'s image, not a step');
    fails({ steps, output: { ...output, items: 'read' } }, 'output.items: "read" is not a crop or rotate step');
    fails(
      {
        steps: [...steps, { id: 'other', op: 'crop', from: 'detect' }, { id: 'r2', op: 'map', model: 'm', over: 'other' }],
        output: { ...output, fields: { text: 'r2.text' } },
      },
      'output.fields.text: step "r2" does not run over the crops of "lines"',
    );
    fails(
      { steps: [...steps, { id: 'turn', op: 'rotate', over: 'lines', by: 'detect', label: '180' }], output },
      'steps.3.by: step "detect" (predict) gives answer, not answers',
    );
    fails({ steps, output: { ...output, keep: { field: 'score', min: 0.5 } } }, 'output.keep.field: "score" is not an item field');
    fails(
      { steps: [...steps, { id: 'costs', op: 'rules', rules: { tables: { cost: { a: { min: 3, max: 1 } } } } }], output },
      'steps.3.rules.tables.cost.a: min 3 is above max 1',
    );
    fails({ task: 'pipeline', steps: [], output }, 'steps: Too small: expected array to have >=1 items');
  });
});
