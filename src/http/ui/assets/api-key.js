import { byId } from './dom.js';

/**
 * The API key lives in sessionStorage only: it is gone when the tab closes and is never written
 * to localStorage or a cookie.
 */
const STORAGE_KEY = 'sightline.apiKey';

/** Fires `change` when the key is set or forgotten (the WebSocket reconnects with the new one). */
export const keyEvents = new EventTarget();

export function getKey() {
  try {
    return sessionStorage.getItem(STORAGE_KEY) ?? '';
  } catch {
    return '';
  }
}

function setKey(value) {
  if (value) sessionStorage.setItem(STORAGE_KEY, value);
  else sessionStorage.removeItem(STORAGE_KEY);
  byId('forget-key').hidden = !value;
  keyEvents.dispatchEvent(new Event('change'));
}

export const forgetKey = () => setKey('');

let pending;

/**
 * Asks for a key in a modal form. Concurrent 401s share one prompt. Resolves with the key, or
 * rejects when the user cancels.
 */
export function requestKey(reason) {
  pending ??= new Promise((resolve, reject) => {
    const dialog = byId('key-dialog');
    const input = byId('key-input');
    byId('key-reason').textContent = reason;
    input.value = '';
    // Escape closes without touching returnValue: clear the last answer so it cannot be reused.
    dialog.returnValue = '';
    dialog.addEventListener(
      'close',
      () => {
        pending = undefined;
        const key = input.value.trim();
        input.value = '';
        if (dialog.returnValue === 'use' && key) {
          setKey(key);
          resolve(key);
        } else {
          reject(new Error('an API key is required'));
        }
      },
      { once: true },
    );
    dialog.showModal();
    input.focus();
  });
  return pending;
}

export function initKeyControls() {
  byId('forget-key').hidden = !getKey();
  byId('forget-key').addEventListener('click', forgetKey);
}
