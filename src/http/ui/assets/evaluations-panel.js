import { api, modelPath } from './api.js';
import { byId, el, say } from './dom.js';
import { dateTime, shortId } from './format.js';
import { classBars, confusionHeatmap, curveChart } from './evaluation-charts.js';
import { metricName } from './metric-names.js';
import { dataTable, panelHead, refreshButton, statusLine } from './panel-parts.js';

const TOPIC = 'evaluations';
const PAGE_SIZE = 20;
const EVALUABLE = new Set(['classify', 'text-recognize', 'detect', 'segment']);
const RANK = { queued: 0, running: 1, succeeded: 2, failed: 2 };
/** In the order row() fills them. */
const COLUMNS = ['Evaluation', 'Model', 'Dataset', 'Status', 'Progress', 'Result', 'Started', { hidden: 'Actions' }];

const figure = (key, v) => (typeof v !== 'number' ? '–' : key === 'imagesPerSecond' ? v.toFixed(1) : key === 'evaluated' ? String(v) : v.toFixed(3));

/** The one figure a row shows: the task's first headline. */
function headline(e) {
  const s = e.summary ?? {};
  const key = ['accuracy', 'map50', 'cer', 'meanIou'].find((k) => k in s);
  return key ? `${metricName(key)} ${figure(key, s[key])}` : '';
}

/** Evaluations: start one on a dataset folder, watch its progress, read its report with charts. */
export function initEvaluationsPanel(store, socket) {
  const select = (id, name, loading) => el('select', { id, name, required: true }, el('option', { value: '', text: loading }));
  const field = (label, control) => el('label', { class: 'field' }, el('span', { text: label }), control);
  const modelSelect = select('evaluate-model', 'model', 'Loading models…');
  const datasetSelect = select('evaluate-dataset', 'dataset', 'Loading datasets…');
  const form = el(
    'form',
    { id: 'evaluate-form', class: 'evaluate-form' },
    field('Model', modelSelect),
    field('Dataset folder', datasetSelect),
    el('button', { type: 'submit', id: 'evaluate-start', text: 'Evaluate' }),
  );
  const message = statusLine('evaluations-message');
  const { wrap, body } = dataTable('evaluations-table', COLUMNS);
  const reportBox = el('div', { id: 'evaluation-report' });
  const refresh = refreshButton('evaluations', () => {
    load();
    loadDatasets();
  });
  byId('evaluations-panel').append(panelHead('evaluations', 'Evaluations', refresh), form, message, wrap, reportBox);
  /** Opened by itself once it finishes: the evaluation started from this page. */
  let follow;

  store.addEventListener('change', () => {
    const chosen = modelSelect.value;
    const names = [...store.models.values()].filter((m) => m.state === 'ready' && EVALUABLE.has(m.task)).map((m) => m.name);
    modelSelect.replaceChildren(
      ...(names.length === 0
        ? [el('option', { value: '', text: 'No model to evaluate' })]
        : names.map((n) => el('option', { value: n, text: n, selected: n === chosen }))),
    );
  });

  async function loadDatasets() {
    try {
      const { items } = await api('/v1/datasets');
      datasetSelect.replaceChildren(
        ...(items.length === 0 ? [el('option', { value: '', text: 'No dataset folders' })] : items.map((d) => el('option', { value: d.name, text: d.name }))),
      );
    } catch (err) {
      say(message, `Could not list datasets: ${err.message}`, 'error');
    }
  }

  async function load() {
    try {
      const page = await api(`/v1/evaluations?limit=${PAGE_SIZE}`);
      body.replaceChildren(...page.items.map((e) => row(e)));
      if (page.items.length === 0) say(message, 'No evaluations yet.');
    } catch (err) {
      say(message, `Could not list evaluations: ${err.message}`, 'error');
    }
  }

  const rowOf = (id) => [...body.rows].find((r) => r.dataset.evaluation === id);

  function row(e) {
    const progress = el('progress', { max: Math.max(1, e.total), value: e.done, 'aria-label': `progress of ${shortId(e.id)}` });
    return el(
      'tr',
      { dataset: { evaluation: e.id, status: e.status } },
      el('th', { scope: 'row' }, el('code', { title: e.id, text: shortId(e.id) })),
      el('td', { text: e.model }),
      el('td', { text: `${e.dataset} (${e.layout})` }),
      el(
        'td',
        {},
        el('span', { class: 'state', dataset: { state: e.status }, text: e.status }),
        e.error ? el('p', { class: 'row-error', text: e.error }) : null,
      ),
      el('td', { class: 'nowrap' }, progress, el('span', { class: 'progress-text', text: ` ${e.done}/${e.total}` })),
      el('td', { class: 'nowrap headline', text: headline(e) }),
      el('td', { class: 'nowrap', text: dateTime(e.createdAt) }),
      el(
        'td',
        { class: 'nowrap' },
        e.status === 'succeeded'
          ? el('button', { type: 'button', class: 'quiet', 'aria-label': `Show report of ${shortId(e.id)}`, text: 'Report', onClick: () => show(e.id) })
          : null,
        el('button', { type: 'button', class: 'quiet', 'aria-label': `Delete evaluation ${shortId(e.id)}`, text: 'Delete', onClick: () => remove(e.id) }),
      ),
    );
  }

  function upsert(e) {
    const existing = rowOf(e.id);
    // An answer read before an event that came meanwhile must not turn a row back.
    if (existing && RANK[existing.dataset.status] > RANK[e.status]) return;
    const next = row(e);
    if (existing) existing.replaceWith(next);
    else body.prepend(next);
    say(message, '');
    if (e.id === follow && e.status === 'succeeded') show(e.id);
    if (e.id === follow && e.status === 'failed') say(message, `Evaluation failed: ${e.error}`, 'error');
  }

  async function remove(id) {
    try {
      await api(`/v1/evaluations/${encodeURIComponent(id)}`, { method: 'DELETE' });
      rowOf(id)?.remove();
      if (reportBox.dataset.evaluation === id) reportBox.replaceChildren();
    } catch (err) {
      say(message, `Could not delete: ${err.message}`, 'error');
    }
  }

  async function show(id) {
    try {
      const e = await api(`/v1/evaluations/${encodeURIComponent(id)}`);
      reportBox.dataset.evaluation = id;
      reportBox.replaceChildren(reportView(e));
    } catch (err) {
      say(message, `Could not read the report: ${err.message}`, 'error');
    }
  }

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const model = modelSelect.value;
    const dataset = datasetSelect.value;
    if (!model || !dataset) return say(message, 'Choose a model and a dataset folder.', 'error');
    say(message, `Starting ${model} on ${dataset}…`);
    try {
      const { id } = await api(modelPath(model, 'evaluate'), { method: 'POST', body: { dataset } });
      follow = id;
      say(message, '');
      // The socket may have told of it already, even of its end.
      const known = rowOf(id);
      if (known?.dataset.status === 'succeeded') show(id);
      else if (!known) upsert(await api(`/v1/evaluations/${encodeURIComponent(id)}`));
    } catch (err) {
      say(message, `Could not start: ${err.message}`, 'error');
    }
  });

  socket.addEventListener('message', (event) => {
    const frame = event.detail;
    if (frame.topic !== TOPIC || !frame.data?.id) return;
    if (frame.event === 'evaluation.deleted') rowOf(frame.data.id)?.remove();
    else if (frame.event === 'evaluation.progress') {
      const r = rowOf(frame.data.id);
      if (!r) return;
      const bar = r.querySelector('progress');
      bar.max = Math.max(1, frame.data.total);
      bar.value = frame.data.done;
      r.querySelector('.progress-text').textContent = ` ${frame.data.done}/${frame.data.total}`;
    } else upsert(frame.data);
  });
  socket.subscribe(TOPIC);
  load();
  loadDatasets();
}

/** A report: headline figures, the task's charts, problems and timing. */
function reportView(e) {
  const r = e.report;
  const m = r.metrics;
  const figures = el(
    'dl',
    { class: 'figures' },
    ...Object.entries(e.summary ?? {}).map(([k, v]) =>
      el('div', { dataset: { metric: k, value: typeof v === 'number' ? String(v) : '' } }, el('dt', { text: metricName(k) }), el('dd', { text: figure(k, v) })),
    ),
  );
  const charts = el('div', { class: 'charts' });
  const chart = (title, node) => el('figure', { class: 'chart-box' }, el('figcaption', { text: title }), node);
  if (m.task === 'classify') {
    charts.append(chart('Confusion matrix (rows: true label, columns: predicted)', confusionHeatmap(m.confusion)));
    charts.append(
      chart(
        'Per class',
        classBars(m.perClass, [
          { key: 'precision', name: 'precision' },
          { key: 'recall', name: 'recall' },
          { key: 'f1', name: 'F1' },
        ]),
      ),
    );
    if (m.binary) {
      charts.append(
        chart(
          `ROC curve (${m.binary.positive} positive), AUC ${typeof m.binary.auc === 'number' ? m.binary.auc.toFixed(3) : '–'}`,
          curveChart({
            title: 'ROC curve',
            xName: 'false positive rate',
            yName: 'true positive rate',
            diagonal: true,
            series: [{ name: 'ROC', points: m.binary.roc.map((p) => [p.fpr, p.tpr]) }],
          }),
        ),
      );
    }
  } else if (m.task === 'detect') {
    const present = m.perClass.filter((c) => c.groundTruth > 0 || c.detections > 0);
    charts.append(
      chart(
        'Per class',
        classBars(present, [
          { key: 'ap50', name: 'AP@0.5' },
          { key: 'ap', name: 'AP' },
          { key: 'recall', name: 'recall' },
        ]),
      ),
    );
    const curves = present
      .filter((c) => c.curve)
      .slice(0, 6)
      .map((c) => ({ name: c.label, points: c.curve.map((p, i) => [i / (c.curve.length - 1), p]) }));
    if (curves.length > 0)
      charts.append(
        chart('Precision–recall at IoU 0.5', curveChart({ title: 'precision-recall curves', xName: 'recall', yName: 'precision', series: curves })),
      );
  } else if (m.task === 'segment') {
    charts.append(chart('IoU per class', classBars(m.perClass, [{ key: 'iou', name: 'IoU' }])));
  } else if (m.task === 'text-recognize' && m.worst.length > 0) {
    charts.append(
      el(
        'table',
        { class: 'worst' },
        el('thead', {}, el('tr', {}, el('th', { text: 'file' }), el('th', { text: 'edits' }), el('th', { text: 'expected' }), el('th', { text: 'read' }))),
        el(
          'tbody',
          {},
          ...m.worst
            .slice(0, 20)
            .map((w) =>
              el(
                'tr',
                {},
                el('td', { text: w.file }),
                el('td', { text: w.characterEdits }),
                el('td', {}, el('code', { text: w.expected })),
                el('td', {}, el('code', { text: w.predicted })),
              ),
            ),
        ),
      ),
    );
  }
  const t = r.timing;
  const problems =
    r.problems.count === 0
      ? null
      : el(
          'details',
          { class: 'problems' },
          el('summary', { text: `${r.problems.count} problem${r.problems.count === 1 ? '' : 's'} (left out)` }),
          el('ul', {}, ...r.problems.listed.slice(0, 50).map((p) => el('li', {}, el('code', { text: p.file }), ` ${p.message}`))),
        );
  return el(
    'article',
    { class: 'report', dataset: { task: m.task } },
    el(
      'header',
      {},
      el('h3', { text: `${e.model} on ${e.dataset}` }),
      el('p', {
        class: 'meta',
        text:
          `${e.layout} · model version ${e.modelVersion ?? '?'} · ${r.images.evaluated} of ${r.images.total} images · ` +
          `${typeof t.imagesPerSecond === 'number' ? t.imagesPerSecond.toFixed(1) : '–'} images/s · ` +
          `p50 ${t.latencyMs.p50 ?? '–'} ms, p99 ${t.latencyMs.p99 ?? '–'} ms`,
      }),
    ),
    figures,
    charts,
    problems,
  );
}
