import { apiBlob } from './api.js';
import { byId, el } from './dom.js';
import { clock, confidence } from './format.js';
import { drawOverlay } from './overlay.js';
import { decodeImage } from './result-card.js';

const TOPIC = 'detections';
/** Older entries drop off the bottom; the panel is a live view, not a history. */
const MAX_ENTRIES = 50;

/** Detections as they are stored, pushed over the WebSocket, newest first, with their snapshots. */
export function initLivePanel(socket) {
  const list = byId('live-list');
  const empty = byId('live-empty');
  const state = byId('socket-state');

  socket.addEventListener('state', (event) => {
    state.dataset.state = event.detail;
    state.textContent = { open: 'live', connecting: 'connecting', closed: 'disconnected' }[event.detail] ?? event.detail;
  });
  socket.addEventListener('message', (event) => {
    const frame = event.detail;
    if (frame.topic !== TOPIC && !frame.topic.startsWith(`${TOPIC}/`)) return;
    if (!frame.data || typeof frame.data !== 'object') return;
    list.prepend(entry(frame.data));
    while (list.children.length > MAX_ENTRIES) list.lastElementChild.remove();
    empty.hidden = true;
  });
  byId('live-clear').addEventListener('click', () => {
    list.replaceChildren();
    empty.hidden = false;
  });
  socket.subscribe(TOPIC);
}

function entry(d) {
  const item = el(
    'li',
    { class: 'detection', dataset: { id: d.id ?? '', label: d.label ?? '', camera: d.cameraId ?? '', confidence: String(d.confidence ?? '') } },
    el(
      'div',
      { class: 'detection-text' },
      el(
        'p',
        { class: 'detection-head' },
        el('span', { class: 'item-label', text: d.label }),
        ' ',
        el('span', { class: 'item-confidence', text: confidence(d.confidence) }),
      ),
      el('p', { class: 'meta', text: `camera ${d.cameraId} · track ${d.trackId} · ${clock(d.detectedAt)}` }),
    ),
  );
  if (d.imageSha256) item.prepend(snapshot(d));
  return item;
}

/** The stored snapshot with the detection's box drawn on it; fetched with the key, so not a plain <img src>. */
function snapshot(d) {
  const canvas = el('canvas', { class: 'snapshot', role: 'img', 'aria-label': `snapshot from camera ${d.cameraId}` });
  apiBlob(`/v1/images/${encodeURIComponent(d.imageSha256)}`)
    .then(decodeImage)
    .then((bitmap) => {
      if (!bitmap) throw new Error('undecodable');
      const items = Array.isArray(d.box) ? [{ label: d.label, confidence: d.confidence, box: d.box }] : [];
      drawOverlay(canvas, bitmap, bitmap.width, bitmap.height, items);
      bitmap.close();
      canvas.dataset.loaded = 'yes';
    })
    .catch(() => canvas.replaceWith(el('span', { class: 'snapshot missing', text: 'no snapshot' })));
  return canvas;
}
