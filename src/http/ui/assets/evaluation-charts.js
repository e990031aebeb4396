/**
 * Charts of an evaluation report, drawn as SVG in the page (no external assets, nothing inline
 * that the page's policy forbids: colours are presentation attributes, not style attributes).
 * Every mark carries the figure it shows in data attributes, so what is drawn can be read back.
 */
const NS = 'http://www.w3.org/2000/svg';

export function svg(tag, attrs = {}, ...children) {
  const node = document.createElementNS(NS, tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null) continue;
    if (key === 'text') node.textContent = String(value);
    else node.setAttribute(key, String(value));
  }
  for (const child of children.flat()) if (child) node.append(child);
  return node;
}

/** A chart's own <svg>, `width` × `height` in its own units, read out to screen readers as `label`. */
function chartRoot(kind, width, height, label) {
  return svg('svg', { class: `chart ${kind}`, viewBox: `0 0 ${width} ${height}`, width, height, role: 'img', 'aria-label': label });
}

const fixed = (v, digits = 3) => (typeof v === 'number' && Number.isFinite(v) ? v.toFixed(digits) : '–');

/** Cell colour: the share of its row (recall for the diagonal), light to dark in the accent hue. */
function heat(share) {
  const lightness = 96 - Math.round(share * 62);
  return `hsl(174 70% ${lightness}%)`;
}

/** Confusion matrix heatmap: rows are true labels, columns predicted; each cell shows its count. */
export function confusionHeatmap(confusion) {
  const { labels, matrix } = confusion;
  const n = labels.length;
  const cell = n <= 6 ? 44 : n <= 15 ? 28 : 16;
  // Room for the longest label: beside the rows, and above the columns (written slanting up to the right).
  const margin = Math.min(140, 12 + Math.max(...labels.map((l) => String(l).length), 4) * 6.5);
  const width = margin + n * cell + margin * 0.75;
  const height = 20 + margin + n * cell + 4;
  const root = chartRoot('heatmap', width, height, 'confusion matrix: rows are true labels, columns predicted labels');
  root.append(svg('text', { x: margin + (n * cell) / 2, y: 12, 'text-anchor': 'middle', class: 'axis-title', text: 'predicted' }));
  labels.forEach((label, i) => {
    root.append(
      svg('text', { x: margin - 6, y: 20 + margin + i * cell + cell / 2, 'text-anchor': 'end', 'dominant-baseline': 'middle', class: 'tick', text: label }),
    );
    const cx = margin + i * cell + cell / 2;
    root.append(
      svg('text', { x: cx, y: 20 + margin - 6, 'text-anchor': 'start', transform: `rotate(-45 ${cx} ${20 + margin - 6})`, class: 'tick', text: label }),
    );
  });
  matrix.forEach((row, r) => {
    const total = row.reduce((a, b) => a + b, 0);
    row.forEach((count, c) => {
      const share = total === 0 ? 0 : count / total;
      const x = margin + c * cell;
      const y = 20 + margin + r * cell;
      const g = svg('g', { class: 'cell', 'data-row': labels[r], 'data-col': labels[c], 'data-count': count });
      g.append(
        svg(
          'rect',
          { x, y, width: cell - 1, height: cell - 1, fill: heat(share), rx: 2 },
          svg('title', { text: `true ${labels[r]}, predicted ${labels[c]}: ${count}` }),
        ),
      );
      if (cell >= 28)
        g.append(
          svg('text', {
            x: x + cell / 2,
            y: y + cell / 2,
            'text-anchor': 'middle',
            'dominant-baseline': 'middle',
            class: share > 0.55 ? 'count dark' : 'count',
            text: count,
          }),
        );
      root.append(g);
    });
  });
  return root;
}

/**
 * Horizontal bars per class, one row per label and one bar per measure (each 0 to 1; a null
 * value is drawn as an empty bar marked "–").
 */
export function classBars(rows, measures) {
  const barH = 10;
  const rowH = measures.length * (barH + 2) + 8;
  const labelW = Math.min(150, 12 + Math.max(...rows.map((r) => String(r.label).length), 4) * 7);
  const width = labelW + 260;
  const height = rows.length * rowH + 24;
  const root = chartRoot('bars', width, height, `per-class ${measures.map((m) => m.name).join(', ')}`);
  measures.forEach((m, i) => {
    root.append(svg('rect', { x: labelW + i * 86, y: 2, width: 10, height: 10, class: `bar m${i}` }));
    root.append(svg('text', { x: labelW + i * 86 + 14, y: 11, class: 'tick', text: m.name }));
  });
  rows.forEach((row, r) => {
    const y0 = 22 + r * rowH;
    root.append(svg('text', { x: labelW - 6, y: y0 + rowH / 2 - 2, 'text-anchor': 'end', 'dominant-baseline': 'middle', class: 'tick', text: row.label }));
    measures.forEach((m, i) => {
      const value = row[m.key];
      const w = typeof value === 'number' ? Math.max(0, Math.min(1, value)) * 200 : 0;
      const y = y0 + i * (barH + 2);
      root.append(
        svg(
          'g',
          { class: 'bar-row', 'data-label': row.label, 'data-metric': m.key, 'data-value': typeof value === 'number' ? value : '' },
          svg('rect', { x: labelW, y, width: 200, height: barH, class: 'track' }),
          svg('rect', { x: labelW, y, width: w, height: barH, class: `bar m${i}` }, svg('title', { text: `${row.label} ${m.name}: ${fixed(value)}` })),
          svg('text', { x: labelW + 206, y: y + barH - 1, class: 'tick value', text: fixed(value) }),
        ),
      );
    });
  });
  return root;
}

/**
 * A curve in the unit square: ROC (false positive rate → true positive rate) or precision–recall.
 * `series` is [{name, points: [[x, y], …]}]; the diagonal is drawn for ROC.
 */
export function curveChart({ title, xName, yName, series, diagonal = false }) {
  const size = 240;
  const pad = 34;
  const x = (v) => pad + v * size;
  const y = (v) => pad / 2 + (1 - v) * size;
  const root = chartRoot('curve', size + pad + 12, size + pad + 16, title);
  root.append(svg('rect', { x: x(0), y: y(1), width: size, height: size, class: 'frame' }));
  for (const t of [0, 0.5, 1]) {
    root.append(svg('text', { x: x(t), y: y(0) + 14, 'text-anchor': 'middle', class: 'tick', text: t }));
    root.append(svg('text', { x: x(0) - 6, y: y(t) + 4, 'text-anchor': 'end', class: 'tick', text: t }));
  }
  root.append(svg('text', { x: x(0.5), y: y(0) + 28, 'text-anchor': 'middle', class: 'axis-title', text: xName }));
  root.append(svg('text', { x: 10, y: y(0.5), 'text-anchor': 'middle', transform: `rotate(-90 10 ${y(0.5)})`, class: 'axis-title', text: yName }));
  if (diagonal) root.append(svg('line', { x1: x(0), y1: y(0), x2: x(1), y2: y(1), class: 'diagonal' }));
  series.forEach((s, i) => {
    const points = s.points.map(([px, py]) => `${x(px).toFixed(2)},${y(py).toFixed(2)}`).join(' ');
    root.append(
      svg('polyline', { points, class: `line m${i % 6}`, 'data-series': s.name, 'data-points': s.points.length, fill: 'none' }, svg('title', { text: s.name })),
    );
  });
  return root;
}
