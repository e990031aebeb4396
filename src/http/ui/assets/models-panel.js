import { byId, el, say } from './dom.js';
import { count } from './format.js';
import { dataTable, panelHead, refreshButton, statusLine } from './panel-parts.js';

const POLL_MS = 10000;
/** In the order row() fills them. */
const COLUMNS = ['Model', 'Task', 'State', 'Device', 'Batching', 'Requests', 'Batches', { hidden: 'Actions' }];

/** The models table: state, device, batching and counters, with a reload button per model. */
export function initModelsPanel(store) {
  const { wrap, body } = dataTable('models-table', COLUMNS);
  const message = statusLine('models-message');
  const refresh = refreshButton('models', () => store.refresh());
  byId('models-panel').append(panelHead('models', 'Models', refresh), wrap, message);

  store.addEventListener('change', () => {
    if (store.error && store.models.size === 0) say(message, `Could not list models: ${store.error.message}`, 'error');
    else if (store.models.size === 0) say(message, 'No models in the repository.');
    else if (!message.dataset.sticky) say(message, '');
    // Rows are rebuilt on every update; keep keyboard focus on the same model's button.
    const focused = body.contains(document.activeElement) ? document.activeElement.closest('tr')?.dataset.model : undefined;
    body.replaceChildren(...[...store.models.values()].map((m) => row(m, reload)));
    if (focused)
      [...body.rows]
        .find((r) => r.dataset.model === focused)
        ?.querySelector('button')
        ?.focus();
  });

  async function reload(name) {
    delete message.dataset.sticky;
    try {
      await store.reload(name);
      say(message, `${name} reloaded.`);
    } catch (err) {
      message.dataset.sticky = 'yes';
      say(message, `Reload of ${name} failed: ${err.message}`, 'error');
    }
  }

  // Counters move with traffic from other clients too; poll while the page is visible.
  setInterval(() => {
    if (document.visibilityState === 'visible') store.refresh();
  }, POLL_MS);
}

function row(m, reload) {
  return el(
    'tr',
    { dataset: { model: m.name, state: m.state } },
    el(
      'th',
      { scope: 'row', title: m.description },
      el('span', { class: 'model-name', text: m.name }),
      m.version ? el('span', { class: 'version', text: ` v${m.version}` }) : null,
    ),
    el('td', { text: m.task ?? '–' }),
    el(
      'td',
      {},
      el('span', { class: 'state', dataset: { field: 'state', state: m.state }, text: m.state }),
      m.error ? el('p', { class: 'row-error', text: m.error }) : null,
    ),
    el('td', { dataset: { field: 'device' }, title: m.device?.fallbackReason }, device(m.device)),
    el('td', { dataset: { field: 'batching' } }, batching(m.spec?.batching)),
    el('td', { dataset: { field: 'requests' } }, requests(m.statistics)),
    el('td', { dataset: { field: 'batches' } }, batches(m.statistics)),
    el(
      'td',
      {},
      el('button', {
        type: 'button',
        class: 'quiet',
        'aria-label': `Reload ${m.name}`,
        disabled: m.reloading || m.state === 'unloading',
        text: m.reloading ? 'Reloading…' : 'Reload',
        onClick: () => reload(m.name),
      }),
    ),
  );
}

function device(d) {
  if (!d) return '–';
  const where = d.requested !== d.actual ? `${d.actual} (asked ${d.requested})` : d.actual;
  return `${where} · ${d.instances} × ${d.intraOpThreads} threads`;
}

function batching(b) {
  if (!b) return '–';
  return `max ${b.maxBatchSize} · ${b.maxQueueDelayMs} ms`;
}

function requests(s) {
  if (!s) return '–';
  const failed = s.failed + s.rejectedQueueFull + s.rejectedTimeout;
  return `${count(s.succeeded)} ok${failed ? ` · ${count(failed)} failed` : ''}${s.queueLength ? ` · ${count(s.queueLength)} queued` : ''}`;
}

function batches(s) {
  if (!s || !s.dispatchedBatches) return '–';
  return `${count(s.dispatchedBatches)} · avg ${(s.dispatchedItems / s.dispatchedBatches).toFixed(1)}`;
}
