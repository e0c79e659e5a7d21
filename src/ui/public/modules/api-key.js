// The API key for mutating routes, asked for when the service requires one and kept for this tab
// only (sessionStorage): a refused key is forgotten, so that the next attempt asks again.

import { byId } from './dom.js';

const KEY_STORAGE = 'mds-api-key';

/** @returns {string | null} */
export const storedApiKey = () => sessionStorage.getItem(KEY_STORAGE);

/** @param {string} key a key the service accepted */
export const keepApiKey = (key) => sessionStorage.setItem(KEY_STORAGE, key);

export const forgetApiKey = () => sessionStorage.removeItem(KEY_STORAGE);

/**
 * Asks for the key in the page's dialog.
 * @returns {Promise<string | null>} the key, or null when cancelled or left empty
 */
export function askApiKey() {
  const dialog = byId('api-key-dialog', HTMLDialogElement);
  const input = byId('api-key-input', HTMLInputElement);
  input.value = '';
  return new Promise((resolve) => {
    dialog.addEventListener(
      'close',
      () => resolve(dialog.returnValue === 'ok' && input.value ? input.value : null),
      { once: true },
    );
    dialog.showModal();
    input.focus();
  });
}
