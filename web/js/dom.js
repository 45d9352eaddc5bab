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

// ----- times, in the deployment's time zone (GET /api/config) -----

let zone; // undefined: the browser's own, until the deployment's is known
const formatters = new Map();

/** Show every time in this IANA zone (ignored when the browser does not know it). */
export function setTimeZone(tz) {
  try {
    new Intl.DateTimeFormat('en', { timeZone: tz });
    zone = tz;
  } catch {
    zone = undefined;
  }
  formatters.clear();
}

export function timeZone() {
  return zone;
}

function formatter(key, opts) {
  let f = formatters.get(key);
  if (!f) {
    const o = zone ? { ...opts, timeZone: zone } : { ...opts };
    try {
      f = new Intl.DateTimeFormat([], o);
    } catch {
      // "ET"-style generic names are recent; fall back to "EST"/"EDT".
      if (o.timeZoneName === 'shortGeneric') o.timeZoneName = 'short';
      f = new Intl.DateTimeFormat([], o);
    }
    formatters.set(key, f);
  }
  return f;
}

/** The zone's short name ("ET", or "EST"/"EDT" where generic names are unknown). */
export function zoneLabel(ms = Date.now()) {
  const parts = formatter('clockz', { hour: 'numeric', minute: '2-digit', timeZoneName: 'shortGeneric' }).formatToParts(new Date(ms));
  const p = parts.find((x) => x.type === 'timeZoneName');
  return p ? cleanZoneName(p.value) : '';
}

/** The zone's offset from UTC at the instant `ms`, in milliseconds. */
function offsetAt(ms) {
  const f = formatter('parts', {
    year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric', hourCycle: 'h23',
  });
  const p = Object.fromEntries(f.formatToParts(new Date(ms)).map((x) => [x.type, x.value]));
  const wall = Date.UTC(Number(p.year), Number(p.month) - 1, Number(p.day), Number(p.hour), Number(p.minute), Number(p.second));
  return wall - Math.floor(ms / 1000) * 1000;
}

/** A datetime-local value ("2026-07-15T19:00") read as a wall-clock time in the deployment's zone: Unix ms. */
export function parseZonedDateTime(v) {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})/.exec(String(v));
  if (!m) return NaN;
  if (!zone) return new Date(v).getTime();
  const wall = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]));
  // Twice: the offset at the first guess may differ across a DST change.
  const guess = wall - offsetAt(wall);
  return wall - offsetAt(guess);
}

/** "7:05 PM": a time of day (chat messages, requests). */
export function formatClock(ms) {
  return formatter('clock', { hour: 'numeric', minute: '2-digit' }).format(new Date(ms));
}

/** The zone's name as the browser writes it, less a country in brackets ("PT (Canada)" → "PT"). */
const cleanZoneName = (name) => name.replace(/\s*\([^)]*\)\s*$/, '');

/** Format with the zone's name cleaned. */
function zoned(f, ms) {
  return f.formatToParts(new Date(ms)).map((p) => (p.type === 'timeZoneName' ? cleanZoneName(p.value) : p.value)).join('');
}

/** "7:05 PM ET": a time of day, labelled with the zone. */
export function formatClockZoned(ms) {
  return zoned(formatter('clockz', { hour: 'numeric', minute: '2-digit', timeZoneName: 'shortGeneric' }), ms);
}

/** "Thu, Jan 15, 7:00 PM ET": a scheduled time, labelled with the zone. */
export function formatDateTime(ms) {
  return zoned(formatter('datetime', {
    weekday: 'short', month: 'short', day: 'numeric', hour: 'numeric', minute: '2-digit', timeZoneName: 'shortGeneric',
  }), ms);
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
