/** Display formats shared by the panels. */

export const confidence = (value) => (typeof value === 'number' ? value.toFixed(2) : '–');

export function ms(value) {
  if (typeof value !== 'number') return '–';
  return value < 10 ? `${value.toFixed(2)} ms` : value < 1000 ? `${value.toFixed(1)} ms` : `${(value / 1000).toFixed(2)} s`;
}

/** Accepts epoch milliseconds or an ISO string. */
export function toDate(value) {
  if (value === null || value === undefined || value === '') return undefined;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? undefined : date;
}

export function clock(value) {
  const date = toDate(value);
  return date ? date.toLocaleTimeString(undefined, { hour12: false }) : '–';
}

/** Time only for today, date and time otherwise: table cells stay narrow. */
export function dateTime(value) {
  const date = toDate(value);
  if (!date) return '–';
  const today = date.toDateString() === new Date().toDateString();
  return today ? clock(date) : date.toLocaleString(undefined, { hour12: false, dateStyle: 'short', timeStyle: 'medium' });
}

export function duration(from, to) {
  const a = toDate(from);
  const b = toDate(to);
  return a && b ? ms(b.getTime() - a.getTime()) : '–';
}

export const shortId = (id) => (typeof id === 'string' ? id.slice(0, 8) : '–');

export function count(value) {
  return typeof value === 'number' ? value.toLocaleString() : '–';
}
