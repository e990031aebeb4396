import { el } from './dom.js';
import { confidence, ms } from './format.js';
import { colourFor, drawOverlay } from './overlay.js';
import { extraOf, itemsOf } from './result-items.js';

/** Decodes an image for drawing; undefined when the browser cannot (the server may still read it, e.g. TIFF). */
export async function decodeImage(blob) {
  try {
    return await createImageBitmap(blob, { imageOrientation: 'from-image' });
  } catch {
    return undefined;
  }
}

const LATENCIES = [
  ['queue', 'Queue', 'queueMs'],
  ['infer', 'Infer', 'inferMs'],
  ['total', 'Total', 'totalMs'],
];

/**
 * One result: the image with its answer drawn over it, beside the same answer as text
 * (labels, confidences, latency split) that screen readers and tests can read.
 * Fills itself in when both the image and the answer have arrived.
 */
export function resultCard(title, image, answer) {
  const card = el('article', { class: 'result', dataset: { state: 'pending', file: title } });
  const heading = el('h3', { text: title });
  const meta = el('p', { class: 'meta', text: 'Running…' });
  const canvas = el('canvas', { role: 'img', 'aria-label': `${title}: waiting for the result` });
  const side = el('div', { class: 'result-side' });
  card.append(el('header', {}, heading, meta), el('div', { class: 'result-body' }, el('div', { class: 'canvas-wrap' }, canvas), side));

  Promise.all([image, answer]).then(
    ([bitmap, value]) => {
      if (value?.error) return fail(value.error.message ?? 'failed');
      const items = itemsOf(value);
      drawOverlay(canvas, bitmap, value.width ?? bitmap?.width ?? 1, value.height ?? bitmap?.height ?? 1, items);
      bitmap?.close?.();
      canvas.dataset.labels = items.map((i) => i.label).join('\n');
      canvas.setAttribute('aria-label', `${title}: ${items.length ? items.map((i) => `${i.label} ${confidence(i.confidence)}`).join(', ') : 'nothing found'}`);
      meta.textContent = [value.model, value.width && `${value.width}×${value.height}`, value.batchSize && `batch of ${value.batchSize}`]
        .filter(Boolean)
        .join(' · ');
      side.append(itemList(items, extraOf(value)), latencyList(value.latencyMs), rawAnswer(value));
      card.dataset.state = 'done';
    },
    (err) => fail(err?.message ?? String(err)),
  );

  function fail(message) {
    card.dataset.state = 'error';
    meta.textContent = 'Failed';
    canvas.hidden = true;
    side.append(el('p', { class: 'error', role: 'alert', text: message }));
  }
  return card;
}

function itemList(items, extra) {
  if (items.length === 0) return el('p', { class: 'items-empty', text: extra || 'Nothing found.' });
  return el(
    'ol',
    { class: 'items', 'aria-label': 'Results' },
    items.map((item) =>
      el(
        'li',
        { dataset: { label: item.label, confidence: String(item.confidence ?? '') } },
        el('span', { class: 'swatch', style: { '--swatch': colourFor(item.label) }, 'aria-hidden': 'true' }),
        el('span', { class: 'item-label', text: item.label }),
        el('span', { class: 'item-confidence', text: confidence(item.confidence) }),
      ),
    ),
  );
}

function latencyList(latency = {}) {
  return el(
    'dl',
    { class: 'latency', 'aria-label': 'Latency' },
    LATENCIES.map(([key, name, field]) =>
      el('div', {}, el('dt', { text: name }), el('dd', { dataset: { latency: key, ms: String(latency[field] ?? '') }, text: ms(latency[field]) })),
    ),
  );
}

function rawAnswer(value) {
  return el('details', { class: 'raw' }, el('summary', { text: 'Response JSON' }), el('pre', { text: JSON.stringify(value, null, 2) }));
}
