import { api, modelPath } from './api.js';
import { byId, el, say } from './dom.js';
import { decodeImage, resultCard } from './result-card.js';

/** Files per request; below the server's default multipart limit (16). */
const FILES_PER_REQUEST = 8;

/**
 * Model picker, file chooser and drop zone. Chosen images go to the model in multipart requests
 * (several per request, so they can share a batch); each image gets its own result card.
 * With "Submit as async jobs" each image becomes a job instead, followed in the jobs panel.
 */
export function initPredictPanel(store, { onPredicted, onJobsSubmitted }) {
  const form = byId('predict-form');
  const select = byId('model-select');
  const input = byId('file-input');
  const zone = byId('drop-zone');
  const again = byId('predict-again');
  const asJobs = byId('as-jobs');
  const results = byId('results');
  const message = byId('predict-message');
  let files = [];

  store.addEventListener('change', () => fillModels(select, store.models));

  input.addEventListener('change', () => {
    if (input.files.length > 0) run([...input.files]);
    // Choosing the same file twice must still fire `change`.
    input.value = '';
  });
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    if (files.length > 0) run(files);
  });

  for (const type of ['dragenter', 'dragover']) {
    zone.addEventListener(type, (event) => {
      event.preventDefault();
      zone.dataset.over = 'yes';
    });
  }
  zone.addEventListener('dragleave', () => delete zone.dataset.over);
  zone.addEventListener('drop', (event) => {
    event.preventDefault();
    delete zone.dataset.over;
    const dropped = [...(event.dataTransfer?.files ?? [])].filter((f) => f.type === '' || f.type.startsWith('image/'));
    if (dropped.length > 0) run(dropped);
    else say(message, 'Drop image files.', 'error');
  });

  async function run(chosen) {
    const model = select.value;
    if (!model) {
      say(message, 'Pick a model that is ready first.', 'error');
      return;
    }
    files = chosen;
    again.disabled = false;
    if (asJobs.checked) return submitJobs(model, chosen);
    say(message, `Running ${chosen.length} image${chosen.length === 1 ? '' : 's'} through ${model}…`);
    const cards = [];
    const requests = [];
    for (let i = 0; i < chosen.length; i += FILES_PER_REQUEST) {
      const group = chosen.slice(i, i + FILES_PER_REQUEST);
      const answers = predictGroup(model, group);
      group.forEach((file, j) =>
        cards.push(
          resultCard(
            file.name,
            decodeImage(file),
            answers.then((a) => a[j]),
          ),
        ),
      );
      requests.push(answers);
    }
    results.replaceChildren(...cards);
    const settled = await Promise.allSettled(requests);
    const failed = settled.find((s) => s.status === 'rejected');
    say(
      message,
      failed ? `Request failed: ${failed.reason.message}` : `Done: ${chosen.length} image${chosen.length === 1 ? '' : 's'} through ${model}.`,
      failed ? 'error' : 'info',
    );
    onPredicted?.(model);
  }

  async function submitJobs(model, chosen) {
    say(message, `Submitting ${chosen.length} job${chosen.length === 1 ? '' : 's'} to ${model}…`);
    const settled = await Promise.allSettled(
      chosen.map((file) => {
        const body = new FormData();
        body.append('file', file, file.name);
        return api(`/v1/jobs?${new URLSearchParams({ model })}`, { method: 'POST', body });
      }),
    );
    const failed = settled.filter((s) => s.status === 'rejected');
    const sent = settled.length - failed.length;
    const summary = `Submitted ${sent} job${sent === 1 ? '' : 's'} to ${model}; follow them under Jobs.`;
    say(message, failed.length ? `${summary} ${failed.length} failed: ${failed[0].reason.message}` : summary, failed.length ? 'error' : 'info');
    onJobsSubmitted?.();
  }
}

/** One multipart request; a single file answers one result, several answer `{results: [...]}`. */
async function predictGroup(model, group) {
  const body = new FormData();
  for (const file of group) body.append('file', file, file.name);
  const answer = await api(modelPath(model, 'predict'), { method: 'POST', body });
  return Array.isArray(answer.results) ? answer.results.map((r) => ({ model: answer.model, ...r })) : [answer];
}

function fillModels(select, models) {
  // Rebuilding the options closes an open picker: only do it when something shown changed.
  const signature = [...models.values()].map((m) => `${m.name}:${m.task}:${m.state}`).join('|');
  if (select.dataset.signature === signature) return;
  select.dataset.signature = signature;
  const chosen = select.value;
  const options = [...models.values()].map((m) =>
    el('option', {
      value: m.name,
      disabled: m.state !== 'ready',
      text: `${m.name}${m.task ? ` (${m.task})` : ''}${m.state !== 'ready' ? ` · ${m.state}` : ''}`,
    }),
  );
  if (options.length === 0) options.push(el('option', { value: '', text: 'No models' }));
  select.replaceChildren(...options);
  const ready = [...models.values()].filter((m) => m.state === 'ready').map((m) => m.name);
  select.value = ready.includes(chosen) ? chosen : (ready[0] ?? '');
}
