import { initKeyControls } from './api-key.js';
import { byId, say } from './dom.js';
import { initEvaluationsPanel } from './evaluations-panel.js';
import { initJobsPanel } from './jobs-panel.js';
import { initLivePanel } from './live-panel.js';
import { ModelStore } from './model-store.js';
import { initModelsPanel } from './models-panel.js';
import { initPredictPanel } from './predict-panel.js';
import { TopicSocket } from './socket.js';

/** Wires the panels to one model store and one WebSocket. */
const store = new ModelStore();
const socket = new TopicSocket();

initKeyControls();
initModelsPanel(store);
initLivePanel(socket);
const jobs = initJobsPanel(socket);
initPredictPanel(store, { onPredicted: (model) => store.refreshOne(model), onJobsSubmitted: () => jobs.refresh() });
initEvaluationsPanel(store, socket);

socket.addEventListener('message', (event) => {
  if (event.detail.topic === 'models') store.applyStatus(event.detail.data);
});
socket.subscribe('models');

async function checkReady() {
  const status = byId('server-status');
  try {
    const ready = await fetch('/health/ready');
    status.dataset.state = ready.ok ? 'ready' : 'not-ready';
    say(status, ready.ok ? 'Ready' : 'Not ready');
    status.title = '';
    if (!ready.ok) {
      const body = await ready.json().catch(() => undefined);
      status.title = (body?.error?.reasons ?? []).join('\n');
    }
  } catch {
    status.dataset.state = 'down';
    say(status, 'Server unreachable');
  }
}

// Model changes come in bursts (a refresh touches every model): check readiness once per burst.
let readyTimer;
store.addEventListener('change', () => {
  clearTimeout(readyTimer);
  readyTimer = setTimeout(checkReady, 150);
});
store.refresh();
