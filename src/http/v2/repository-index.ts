import type { ModelRepository, ModelState } from '../../engine/repository.js';

export interface IndexEntry {
  name: string;
  version?: string;
  state: 'READY' | 'LOADING' | 'UNLOADING' | 'UNAVAILABLE';
  reason: string;
}

const STATES: Readonly<Record<ModelState, IndexEntry['state']>> = {
  ready: 'READY',
  loading: 'LOADING',
  unloading: 'UNLOADING',
  failed: 'UNAVAILABLE',
  unloaded: 'UNAVAILABLE',
};

/**
 * Triton's repository index: every model the repository holds, loaded or not, with Triton's
 * states; `reason` says why one is unavailable (its load error, unloaded, or never loaded).
 */
export function repositoryIndex(repo: ModelRepository, readyOnly: boolean): IndexEntry[] {
  const names = [...new Set([...repo.names(), ...repo.discover()])].sort();
  const entries = names.map((name): IndexEntry => {
    const status = repo.status(name);
    if (status === undefined) return { name, state: 'UNAVAILABLE', reason: 'not loaded' };
    const reason = status.state === 'failed' ? (status.error ?? 'failed to load') : status.state === 'unloaded' ? 'unloaded' : '';
    return { name, ...(status.version > 0 ? { version: String(status.version) } : {}), state: STATES[status.state], reason };
  });
  return readyOnly ? entries.filter((e) => e.state === 'READY') : entries;
}
