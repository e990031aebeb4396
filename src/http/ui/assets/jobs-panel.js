import { api, apiBlob } from './api.js';
import { byId, el, say } from './dom.js';
import { dateTime, duration, shortId } from './format.js';
import { dataTable, panelHead, refreshButton, statusLine } from './panel-parts.js';
import { decodeImage, resultCard } from './result-card.js';

const PAGE_SIZE = 20;
const TOPIC = 'jobs';
/** In the order row() fills them. */
const COLUMNS = ['Job', 'Model', 'Status', 'Created', 'Took', { hidden: 'Result' }];

/** Async jobs, newest first, kept current by `jobs` events; a finished job's result opens below the table. */
export function initJobsPanel(socket) {
  const { wrap, body } = dataTable('jobs-table', COLUMNS);
  const message = statusLine('jobs-message');
  const more = el('button', { type: 'button', id: 'jobs-more', class: 'quiet', hidden: true, text: 'Older jobs', onClick: () => load(false) });
  const resultBox = el('div', { id: 'job-result' });
  const refresh = refreshButton('jobs', () => load(true));
  byId('jobs-panel').append(panelHead('jobs', 'Jobs', refresh), wrap, message, more, resultBox);
  let cursor = null;

  async function load(reset) {
    const query = new URLSearchParams({ limit: String(PAGE_SIZE) });
    if (!reset && cursor) query.set('cursor', cursor);
    try {
      const page = await api(`/v1/jobs?${query}`);
      if (reset) body.replaceChildren();
      for (const job of page.items ?? []) upsert(job, false);
      cursor = page.nextCursor ?? null;
      more.hidden = !cursor;
      say(message, body.rows.length === 0 ? 'No jobs yet.' : '');
    } catch (err) {
      say(message, err.status === 404 ? 'This server does not run jobs.' : `Could not list jobs: ${err.message}`, err.status === 404 ? 'info' : 'error');
    }
  }

  // A page of the list can be older than an event that came while it was fetched: a row never
  // goes back from a later status to an earlier one.
  const latest = new Map();
  const stage = (status) => (status === 'queued' ? 0 : status === 'running' ? 1 : 2);
  function newestOf(job) {
    const seen = latest.get(job.id);
    if (seen && stage(seen.status) > stage(job.status)) return seen;
    latest.set(job.id, job);
    return job;
  }

  function upsert(update, newest) {
    const job = newestOf(update);
    const existing = [...body.rows].find((r) => r.dataset.job === job.id);
    const next = row(job, show);
    if (existing) existing.replaceWith(next);
    else if (newest) body.prepend(next);
    else body.append(next);
    say(message, '');
  }

  async function show(job) {
    resultBox.replaceChildren(el('p', { class: 'message', text: `Loading the result of ${shortId(job.id)}…` }));
    const answer = api(`/v1/jobs/${encodeURIComponent(job.id)}/result`).then(unwrap);
    const image = job.imageSha256
      ? apiBlob(`/v1/images/${encodeURIComponent(job.imageSha256)}`).then(decodeImage, () => undefined)
      : Promise.resolve(undefined);
    resultBox.replaceChildren(resultCard(`job ${shortId(job.id)}`, image, answer));
  }

  socket.addEventListener('message', (event) => {
    const frame = event.detail;
    if (frame.topic !== TOPIC || !frame.data?.id) return;
    if (frame.event === 'job.deleted') {
      latest.delete(frame.data.id);
      [...body.rows].find((r) => r.dataset.job === frame.data.id)?.remove();
    } else upsert(frame.data, true);
  });
  socket.subscribe(TOPIC);
  load(true);
  return { refresh: () => load(true) };
}

/** The result route may answer the prediction itself or wrap it with the job's fields. */
function unwrap(value) {
  return value && typeof value.result === 'object' && value.result !== null && !('latencyMs' in value) ? value.result : value;
}

function row(job, show) {
  return el(
    'tr',
    { dataset: { job: job.id, status: job.status } },
    el('th', { scope: 'row' }, el('code', { title: job.id, text: shortId(job.id) })),
    el('td', { text: job.model ?? '–' }),
    el(
      'td',
      {},
      el('span', { class: 'state', dataset: { state: job.status }, text: job.status }),
      job.error ? el('p', { class: 'row-error', text: job.error }) : null,
    ),
    el('td', { class: 'nowrap', title: new Date(job.createdAt).toString(), text: dateTime(job.createdAt) }),
    el('td', { class: 'nowrap', text: duration(job.startedAt, job.finishedAt) }),
    el(
      'td',
      {},
      job.status === 'succeeded'
        ? el('button', { type: 'button', class: 'quiet', 'aria-label': `Show result of job ${shortId(job.id)}`, text: 'Result', onClick: () => show(job) })
        : null,
    ),
  );
}
