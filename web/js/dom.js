// Small DOM helpers. Text from other people is only ever set through
// textContent / text nodes: nothing here touches innerHTML.

const PROPS = new Set(['value', 'checked', 'disabled', 'hidden', 'selected', 'open', 'readOnly', 'required']);

/**
 * Create an element. `props`: class, testid, text, on<event> (listener),
 * dataset, aria-* and other attributes, a few boolean/value properties.
 * Children: nodes or strings (strings become text nodes).
 */
export function h(tag, props, ...children) {
  const el = document.createElement(tag);
  if (props) {
    for (const [k, v] of Object.entries(props)) {
      if (v === undefined || v === null || v === false) continue;
      if (k === 'class') el.className = v;
      else if (k === 'testid') el.dataset.testid = v;
      else if (k === 'text') el.textContent = String(v);
      else if (k === 'dataset') Object.assign(el.dataset, v);
      else if (k === 'style' || k === 'innerHTML' || k === 'outerHTML') throw new Error('not allowed: ' + k);
      else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
      else if (PROPS.has(k)) el[k] = v;
      else el.setAttribute(k, v === true ? '' : String(v));
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

export const $ = (sel, root = document) => root.querySelector(sel);
export const $$ = (sel, root = document) => Array.from(root.querySelectorAll(sel));
export const byTestId = (id, root = document) => root.querySelector(`[data-testid="${id}"]`);

/**
 * Replace a container's children, keeping keyboard focus on the element with
 * the same data-focus-key (so re-rendering a list does not lose the user's place).
 */
export function replaceChildren(container, nodes) {
  const active = document.activeElement;
  let key = null;
  if (active && container.contains(active)) key = active.dataset.focusKey || null;
  container.replaceChildren(...[nodes].flat(Infinity).filter((n) => n != null && n !== false));
  if (key) {
    const again = container.querySelector(`[data-focus-key="${cssEscape(key)}"]`);
    if (again) again.focus();
  }
}

function cssEscape(s) {
  return window.CSS && CSS.escape ? CSS.escape(s) : String(s).replace(/["\\]/g, '\\$&');
}

/** m:ss or h:mm:ss for a number of milliseconds (never negative). */
export function formatDuration(ms) {
  const total = Math.max(0, Math.ceil(ms / 1000));
  const hh = Math.floor(total / 3600);
  const mm = Math.floor((total % 3600) / 60);
  const ss = total % 60;
  const two = (n) => String(n).padStart(2, '0');
  return hh > 0 ? `${hh}:${two(mm)}:${two(ss)}` : `${mm}:${two(ss)}`;
}

export function formatClock(ms) {
  return new Date(ms).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
}

export function formatDateTime(ms) {
  return new Date(ms).toLocaleString([], {
    weekday: 'short', hour: '2-digit', minute: '2-digit', month: 'short', day: 'numeric',
  });
}

/** "3 min" style quiet time. */
export function formatAgo(ms) {
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s`;
  const m = Math.round(s / 60);
  if (m < 60) return `${m} min`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}

/** Show or hide (the `hidden` property; no inline styles). */
export function show(el, on) {
  if (el) el.hidden = !on;
}
