/**
 * Builds an element. Text always goes in as text, never as markup, so values from the server
 * (labels, camera ids, error messages) cannot inject HTML.
 *   props: class, text, dataset {}, style {property: value}, on<Event> listeners, anything else as an attribute.
 */
export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') node.className = value;
    else if (key === 'text') node.textContent = String(value);
    else if (key === 'dataset') Object.assign(node.dataset, value);
    // CSSOM rather than a style attribute: the page's CSP forbids inline style attributes.
    else if (key === 'style') for (const [name, v] of Object.entries(value)) node.style.setProperty(name, v);
    else if (key.startsWith('on') && typeof value === 'function') node.addEventListener(key.slice(2).toLowerCase(), value);
    else node.setAttribute(key, value === true ? '' : String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

export const byId = (id) => document.getElementById(id);

/** Shows a message in a status line; an empty text hides it. */
export function say(node, text, kind = 'info') {
  node.textContent = text;
  node.dataset.kind = kind;
  node.hidden = text === '';
}
