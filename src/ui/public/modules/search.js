// The instrument picker: tradingsymbols containing what is typed (GET /udf/search), as a list of
// buttons under the field.

import { getJson } from './api.js';
import { byId } from './dom.js';

/** @typedef {import('./api.js').SearchResult} SearchResult */

/** Typing pauses this long before a search is sent. */
const DEBOUNCE_MS = 200;

/**
 * @param {{ onPick: (token: number) => void, onError: (error: Error) => void }} handlers
 */
export function attachSearch({ onPick, onError }) {
  const input = byId('symbol-search', HTMLInputElement);
  const list = byId('search-results');
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let timer;

  /** @param {SearchResult} result */
  const option = (result) => {
    const li = document.createElement('li');
    const button = document.createElement('button');
    button.type = 'button';
    button.dataset.token = result.ticker;
    button.textContent = `${result.symbol}  ·  ${result.exchange}  ·  ${result.description}`;
    button.addEventListener('click', () => {
      list.hidden = true;
      input.value = result.symbol;
      onPick(Number(result.ticker));
    });
    li.append(button);
    return li;
  };

  const search = async () => {
    const query = input.value.trim();
    if (!query) {
      list.hidden = true;
      return;
    }
    /** @type {SearchResult[]} */
    const results = await getJson(`/udf/search?${new URLSearchParams({ query, limit: '20' })}`);
    if (results.length === 0) {
      const li = document.createElement('li');
      li.className = 'muted';
      li.textContent = 'no instrument matches';
      list.replaceChildren(li);
    } else list.replaceChildren(...results.map(option));
    list.hidden = false;
  };

  input.addEventListener('input', () => {
    clearTimeout(timer);
    timer = setTimeout(() => search().catch(onError), DEBOUNCE_MS);
  });
}
