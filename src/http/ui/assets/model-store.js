import { api, modelPath } from './api.js';

/**
 * What the page knows about the models: GET /v1/models, then each model's detail (device,
 * batching, counters). Fires `change` after every update.
 */
export class ModelStore extends EventTarget {
  /** name → detail, in the server's order. */
  models = new Map();
  error = undefined;

  async refresh() {
    try {
      const { models } = await api('/v1/models');
      const details = await Promise.all(models.map((m) => api(modelPath(m.name)).catch(() => m)));
      this.models = new Map(details.map((d) => [d.name, d]));
      this.error = undefined;
    } catch (err) {
      this.error = err;
    }
    this.#changed();
  }

  async refreshOne(name) {
    try {
      this.#merge(await api(modelPath(name)));
    } catch (err) {
      this.error = err;
      this.#changed();
    }
  }

  /**
   * POST /v1/models/{name}/load. The state shown stays the server's: a model being reloaded keeps
   * serving its old version (still `ready`) until the new one is up.
   */
  async reload(name) {
    this.#merge({ name, reloading: true });
    try {
      this.#merge({ ...(await api(modelPath(name, 'load'), { method: 'POST' })), reloading: false });
    } catch (err) {
      this.#merge({ reloading: false, name });
      throw err;
    } finally {
      await this.refreshOne(name);
    }
  }

  /** A `model.state` event from the WebSocket carries a model's status. */
  applyStatus(status) {
    if (status?.name) this.#merge(status);
  }

  #merge(partial) {
    const current = this.models.get(partial.name) ?? {};
    this.models.set(partial.name, { ...current, ...partial });
    this.#changed();
  }

  #changed() {
    this.dispatchEvent(new Event('change'));
  }
}
