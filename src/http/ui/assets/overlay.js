import { confidence } from './format.js';
import { wholeImage } from './result-items.js';

// Distinct on light and dark images alike; a label keeps its colour across cards.
const PALETTE = ['#e11d48', '#2563eb', '#16a34a', '#d97706', '#7c3aed', '#0891b2', '#db2777', '#65a30d', '#ea580c', '#4f46e5'];

export function colourFor(label) {
  let h = 0;
  for (const ch of label) h = (h * 31 + ch.codePointAt(0)) >>> 0;
  return PALETTE[h % PALETTE.length];
}

/** Small images are drawn larger so shapes stay visible; large ones smaller to save memory. */
function canvasScale(width, height) {
  const side = Math.max(width, height, 1);
  const target = Math.min(Math.max(side, 640), 1280);
  return target / side;
}

/** Canvas pixels per CSS pixel once laid out, so tags and lines keep one on-screen size at any zoom. */
function canvasPixelsPerCssPixel(canvas) {
  const shown = canvas.getBoundingClientRect().width;
  return shown > 0 ? canvas.width / shown : canvas.width / 560;
}

/**
 * Draws the image (or a plain placeholder when the browser cannot decode it) and every item over it.
 * `width`/`height` are the image's size as the server saw it: item coordinates are in that space.
 */
export function drawOverlay(canvas, image, width, height, items) {
  const scale = canvasScale(width, height);
  canvas.width = Math.round(width * scale);
  canvas.height = Math.round(height * scale);
  const ctx = canvas.getContext('2d');
  ctx.imageSmoothingQuality = 'high';
  if (image) ctx.drawImage(image, 0, 0, canvas.width, canvas.height);
  else {
    ctx.fillStyle = '#9ca3af';
    ctx.fillRect(0, 0, canvas.width, canvas.height);
  }
  const unit = canvasPixelsPerCssPixel(canvas);
  const tags = new TagLayout(ctx, unit);
  if (wholeImage(items)) {
    if (items[0]) tags.place(`${items[0].label} ${confidence(items[0].confidence)}`, colourFor(items[0].label), [0, 0, 0, 0]);
    return;
  }
  // Shapes first, tags after, so a tag is never hidden under a neighbouring outline.
  for (const item of items) shape(ctx, item, scale, unit);
  for (const item of items) {
    const [x1, y1, x2, y2] = bounds(item);
    tags.place(`${item.label} ${confidence(item.confidence)}`, colourFor(item.label), [x1 * scale, y1 * scale, x2 * scale, y2 * scale]);
  }
}

function shape(ctx, item, scale, unit) {
  const colour = colourFor(item.label);
  ctx.lineWidth = unit * 2;
  ctx.strokeStyle = colour;
  if (Array.isArray(item.points) && item.points.length > 2) {
    ctx.beginPath();
    for (const ring of [item.points, ...(item.holes ?? [])])
      ring.forEach(([x, y], i) => (i ? ctx.lineTo(x * scale, y * scale) : ctx.moveTo(x * scale, y * scale)));
    ctx.closePath();
    ctx.globalAlpha = 0.22;
    ctx.fillStyle = colour;
    ctx.fill('evenodd');
    ctx.globalAlpha = 1;
    ctx.stroke();
  } else if (Array.isArray(item.box)) {
    const [x1, y1, x2, y2] = item.box;
    ctx.strokeRect(x1 * scale, y1 * scale, (x2 - x1) * scale, (y2 - y1) * scale);
  }
}

/** [x1, y1, x2, y2] around an item's polygon, or its box. */
function bounds(item) {
  if (!Array.isArray(item.points) || item.points.length === 0) return item.box;
  const xs = item.points.map((p) => p[0]);
  const ys = item.points.map((p) => p[1]);
  return [Math.min(...xs), Math.min(...ys), Math.max(...xs), Math.max(...ys)];
}

/**
 * Places label tags beside their shapes without covering one another: above the top-left
 * corner, else inside it, else below the shape, else stacked under the nearest free spot.
 */
class TagLayout {
  constructor(ctx, unit) {
    this.ctx = ctx;
    this.size = Math.round(unit * 12);
    this.pad = Math.round(this.size * 0.3);
    this.placed = [];
    ctx.font = `600 ${this.size}px system-ui, sans-serif`;
    ctx.textBaseline = 'top';
  }

  place(text, colour, [x1, y1, , y2]) {
    const { ctx, pad } = this;
    const w = ctx.measureText(text).width + pad * 2;
    const h = this.size + pad * 2;
    const clampX = (x) => Math.min(Math.max(0, x), Math.max(0, ctx.canvas.width - w));
    const clampY = (y) => Math.min(Math.max(0, y), Math.max(0, ctx.canvas.height - h));
    const left = clampX(x1);
    const tops = [y1 - h, y1, y2, y2 - h].filter((y) => y >= 0 && y + h <= ctx.canvas.height);
    let top = tops.find((y) => this.#free(left, y, w, h));
    if (top === undefined) {
      top = clampY(tops[0] ?? y1);
      for (let guard = 0; !this.#free(left, top, w, h) && guard < 50; guard++) top = clampY(top + h);
    }
    this.placed.push([left, top, w, h]);
    ctx.fillStyle = colour;
    ctx.fillRect(left, top, w, h);
    ctx.fillStyle = '#fff';
    ctx.fillText(text, left + pad, top + pad);
  }

  #free(x, y, w, h) {
    return this.placed.every(([px, py, pw, ph]) => x + w <= px || px + pw <= x || y + h <= py || py + ph <= y);
  }
}
