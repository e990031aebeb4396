/**
 * Turns a predict answer of any task into the things drawn over the image:
 *   { label, confidence, box?: [x1,y1,x2,y2], points?: [[x,y],...], holes?: [[[x,y],...],...] }
 * Coordinates are in the original image's pixels, as the server answers them.
 */
export function itemsOf(answer) {
  if (Array.isArray(answer.detections)) {
    return answer.detections.map((d) => ({ label: String(d.label), confidence: d.score, box: d.box }));
  }
  if (Array.isArray(answer.polygons)) {
    return answer.polygons.map((p) => ({ label: String(p.label), confidence: p.score, points: p.points, holes: p.holes, box: p.bbox }));
  }
  if (Array.isArray(answer.lines)) {
    // A pipeline's text lines (ocr): each upright quadrilateral with what was read in it.
    return answer.lines.map((l) => ({ label: l.error ? `error: ${l.error.code}` : String(l.text), confidence: l.confidence, points: l.points, box: l.box }));
  }
  if (Array.isArray(answer.regions)) {
    return answer.regions.map((r) => ({ label: 'text', confidence: r.score, points: r.points, box: r.box }));
  }
  if (typeof answer.text === 'string') return [{ label: answer.text, confidence: answer.confidence }];
  if (answer.label !== undefined) {
    const top = Array.isArray(answer.topK) && answer.topK.length > 0 ? answer.topK : [{ label: answer.label, confidence: answer.confidence }];
    return top.map((t) => ({ label: String(t.label), confidence: t.confidence }));
  }
  return [];
}

/** What the answer says beyond its items, for the card's caption (raw tensors, unknown tasks). */
export function extraOf(answer) {
  if (answer.outputs && typeof answer.outputs === 'object') {
    return Object.entries(answer.outputs)
      .map(([name, out]) => `${name} [${(out?.dims ?? []).join('×')}]`)
      .join(', ');
  }
  return '';
}

/** True when the items have no geometry: the labels describe the whole image. */
export const wholeImage = (items) => items.every((i) => !i.box && !i.points);
