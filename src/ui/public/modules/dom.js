// Small helpers over the page's own elements (index.html).

/**
 * The element with this id, of the expected kind; a page without it is a broken page, said at once.
 * @template {HTMLElement} T
 * @param {string} id
 * @param {{ new (): T, prototype: T }} [kind]
 * @returns {T}
 */
export function byId(id, kind) {
  const element = document.getElementById(id);
  if (!element || (kind && !(element instanceof kind)))
    throw new Error(`the page has no #${id}${kind ? ` of type ${kind.name}` : ''}`);
  return /** @type {T} */ (element);
}

/**
 * A table cell with its text and, optionally, a class.
 * @param {string} text
 * @param {string} [className]
 */
export function cell(text, className) {
  const td = document.createElement('td');
  td.textContent = text;
  if (className) td.className = className;
  return td;
}

/**
 * The status line of the header; an error shows in red.
 * @param {string} text
 * @param {boolean} [isError]
 */
export function setStatus(text, isError = false) {
  const status = byId('status');
  status.textContent = text;
  status.classList.toggle('error', isError);
}
