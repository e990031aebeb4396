import { cropRoot, type PipelineOutput, type PipelineStep } from './manifest.js';
import { clampQuad, quadBounds, quadSize, type Quad } from './quad.js';
import type { Crop, ItemError, Slot, StepValue } from './step-values.js';

/**
 * Builds the pipeline's answer from its steps' values as `output` says: one item per crop of
 * `output.items`, with the fields it names read from per-crop steps at the same index, the
 * crop's geometry, an `error` instead of the fields when any per-crop step over the same crops
 * failed for it (the first such step in manifest order, whether or not a field reads it),
 * low-scoring items dropped, reading order, and one joined field.
 */
export function shapeAnswer(
  out: PipelineOutput,
  steps: readonly PipelineStep[],
  values: ReadonlyMap<string, StepValue>,
  image: { width: number; height: number },
): Record<string, unknown> {
  const crops = (values.get(out.items) as Extract<StepValue, { kind: 'crops' }>).items;
  const sources = Object.entries(out.fields).map(([name, ref]) => {
    const dot = ref.indexOf('.');
    const step = ref.slice(0, dot);
    return { name, key: ref.slice(dot + 1), op: steps.find((s) => s.id === step)!.op, value: values.get(step)! };
  });
  const root = cropRoot(steps, out.items);
  const perCrop = steps
    .filter((s) => s.op !== 'predict' && cropRoot(steps, s.id) === root)
    .map((s) => values.get(s.id) as { items: Slot<unknown>[] } | undefined);
  const entries: Array<{ quad: Quad | undefined; item: Record<string, unknown> }> = [];
  crops.forEach((slot, i) => {
    let error: ItemError | undefined;
    for (const value of perCrop) {
      const at = value?.items[i];
      if (at !== undefined && !at.ok) {
        error = at.error;
        break;
      }
    }
    const item: Record<string, unknown> = {};
    for (const source of sources) {
      const at = (source.value as { items: Slot<unknown>[] }).items[i];
      if (!at.ok) continue;
      const v =
        source.value.kind === 'answers' ? (at.value as Record<string, unknown> | null)?.[source.key] : cropField(at.value as Crop, source.key, source.op);
      if (v !== undefined) item[source.name] = v;
    }
    const quad = slot.ok ? slot.value.quad : slot.quad;
    const shown: Record<string, unknown> = error ? { error } : item;
    if (out.geometry && quad) {
      const clamped = clampQuad(quad, image.width, image.height);
      shown.points = clamped;
      shown.box = quadBounds(clamped);
    }
    if (!error && out.keep) {
      const v = item[out.keep.field];
      if (typeof v === 'number' && v < out.keep.min) return;
    }
    entries.push({ quad, item: shown });
  });
  const ordered = out.order === 'reading' ? readingOrder(entries) : entries.map((e) => e.item);
  const answer: Record<string, unknown> = { [out.as]: ordered };
  if (out.join) {
    const { field, separator } = out.join;
    answer[out.join.into] = ordered
      .filter((item) => item.error === undefined && item[field] !== undefined)
      .map((item) => String(item[field]))
      .join(separator);
  }
  return answer;
}

/** A crop step's item field: its source region's fields (score, label), or `turned` (degrees) of a rotate step. */
function cropField(crop: Crop, key: string, op: PipelineStep['op']): unknown {
  if (key === 'turned' && op === 'rotate') return crop.turned;
  return crop.region[key];
}

/**
 * Top to bottom, then left to right: items sorted by their centre's y; an item joins the row of
 * the item that opened it when the centres are less than half the lower item height apart;
 * within a row, by centre x. Centres and heights come from each crop's quadrilateral, so a
 * slanted line (whose axis-aligned box is tall) still falls in its row. Items without geometry
 * keep their place at the end.
 */
function readingOrder(entries: ReadonlyArray<{ quad: Quad | undefined; item: Record<string, unknown> }>): Record<string, unknown>[] {
  const placed = entries
    .filter((e) => e.quad !== undefined)
    .map((e) => {
      const q = e.quad!;
      return { cx: (q[0][0] + q[1][0] + q[2][0] + q[3][0]) / 4, cy: (q[0][1] + q[1][1] + q[2][1] + q[3][1]) / 4, h: quadSize(q).height, item: e.item };
    })
    .sort((a, b) => a.cy - b.cy || a.cx - b.cx);
  const out: Record<string, unknown>[] = [];
  let row: typeof placed = [];
  for (const p of placed) {
    const anchor = row[0];
    if (anchor !== undefined && Math.abs(p.cy - anchor.cy) >= Math.min(p.h, anchor.h) / 2) {
      out.push(...row.sort((a, b) => a.cx - b.cx).map((r) => r.item));
      row = [];
    }
    row.push(p);
  }
  out.push(...row.sort((a, b) => a.cx - b.cx).map((r) => r.item));
  for (const e of entries) if (e.quad === undefined) out.push(e.item);
  return out;
}
