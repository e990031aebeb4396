import { el } from './dom.js';

/**
 * The parts a table panel (models, jobs, evaluations) is built from. Each panel names its columns
 * beside the code that fills its rows, so headings and cells cannot drift apart.
 */

/** The head of panel `name`: its title, which labels the section (`${name}-title`), and the controls beside it. */
export function panelHead(name, title, ...controls) {
  return el('div', { class: 'panel-head' }, el('h2', { id: `${name}-title`, text: title }), ...controls);
}

export const refreshButton = (name, onClick) => el('button', { type: 'button', id: `${name}-refresh`, class: 'quiet', text: 'Refresh', onClick });

/** A status line for `say()`: empty, and so hidden, until there is something to tell. */
export const statusLine = (id) => el('p', { class: 'message', id, role: 'status' });

/**
 * A table in its scrolling wrapper, with an empty body for the panel's rows. A column is its heading,
 * or `{ hidden: heading }` for one named to screen readers only (a column of buttons).
 */
export function dataTable(id, columns) {
  const heading = (c) => el('th', { scope: 'col' }, typeof c === 'string' ? c : el('span', { class: 'visually-hidden', text: c.hidden }));
  const body = el('tbody');
  const table = el('table', { id }, el('thead', {}, el('tr', {}, ...columns.map(heading))), body);
  return { wrap: el('div', { class: 'table-wrap' }, table), body };
}
