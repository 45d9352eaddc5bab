// Page-level UI pieces shared by every view: views, banners, toasts and the
// crisis-resources dialog.

import { h, byTestId, show, setTimeZone } from './dom.js';
import { crisisItems, regionSelect, savedRegion } from './crisis.js';

export function showView(name) {
  for (const v of document.querySelectorAll('section.view[data-view]')) v.hidden = v.dataset.view !== name;
  document.body.dataset.current = name;
}

// ----- banners (persistent, one per id) -----

/**
 * Show or update a banner. kind: info | warn | danger | calm.
 * actions: [{ label, testid, onClick }]. A link: { label, href, testid }.
 */
export function setBanner(id, text, kind = 'info', actions = []) {
  const host = byTestId('banners');
  let el = host.querySelector(`[data-banner="${id}"]`);
  if (!el) {
    el = h('div', { class: 'banner', dataset: { banner: id }, testid: 'banner-' + id, role: kind === 'danger' ? 'alert' : null });
    host.append(el);
  }
  // Re-setting the same banner must not re-announce it in the live region.
  const sig = JSON.stringify([kind, text, actions.map((a) => [a.label, a.href || '', a.testid || ''])]);
  if (el.dataset.sig === sig) return el;
  el.dataset.sig = sig;
  el.className = `banner banner-${kind}`;
  const nodes = [h('span', { class: 'banner-text', text })];
  for (const a of actions) {
    if (a.href) {
      nodes.push(h('a', { class: 'button', href: a.href, target: a.target || null, rel: a.target ? 'noopener' : null, testid: a.testid || null }, a.label));
    } else {
      nodes.push(h('button', { type: 'button', testid: a.testid || null, onclick: a.onClick }, a.label));
    }
  }
  el.replaceChildren(...nodes);
  return el;
}

export function clearBanner(id) {
  const el = byTestId('banners').querySelector(`[data-banner="${id}"]`);
  if (el) el.remove();
}

export function hasBanner(id) {
  return !!byTestId('banners').querySelector(`[data-banner="${id}"]`);
}

// ----- toasts (transient) -----

export function toast(text, opts = {}) {
  const host = byTestId('toasts');
  if (opts.key) {
    const old = host.querySelector(`[data-key="${opts.key}"]`);
    if (old) old.remove();
  }
  const el = h('div', {
    dataset: opts.key ? { key: opts.key } : null,
    class: `toast toast-${opts.kind || 'info'}`,
    testid: opts.testid || (opts.kind === 'error' ? 'toast-error' : 'toast'),
    role: opts.kind === 'error' ? 'alert' : 'status',
  });
  const close = () => el.remove();
  const nodes = [h('span', { class: 'toast-text', text })];
  for (const a of opts.actions || []) {
    if (a.href) {
      nodes.push(h('a', { class: 'button', href: a.href, target: '_blank', rel: 'noopener', testid: a.testid || null, onclick: () => close() }, a.label));
    } else {
      nodes.push(h('button', { type: 'button', testid: a.testid || null, onclick: () => { close(); if (a.onClick) a.onClick(); } }, a.label));
    }
  }
  nodes.push(h('button', { type: 'button', class: 'toast-x', 'aria-label': 'Dismiss', onclick: close }, '×'));
  el.replaceChildren(...nodes);
  host.append(el);
  while (host.children.length > 5) host.firstElementChild.remove();
  const ms = opts.timeout ?? ((opts.actions && opts.actions.length) ? 30000 : 7000);
  if (ms > 0) setTimeout(close, ms);
  return el;
}

export function dismissToast(key) {
  const el = byTestId('toasts').querySelector(`[data-key="${key}"]`);
  if (el) el.remove();
}

// ----- crisis resources (ordering and links: crisis.js) -----

let crisis = [];

export function setCrisisResources(list) {
  if (Array.isArray(list) && list.length) crisis = list;
  renderCrisisList();
}

function renderCrisisList() {
  const ul = byTestId('crisis-list');
  if (!ul) return;
  if (!byTestId('crisis-region')) ul.before(regionSelect(() => renderCrisisList()));
  ul.replaceChildren(...crisisItems(crisis, savedRegion()));
}

export function openCrisis(alerted = false) {
  renderCrisisList();
  const d = byTestId('crisis-dialog');
  show(byTestId('crisis-alerted'), alerted);
  if (!d.open) d.showModal();
}

export async function loadCrisisResources() {
  renderCrisisList();
  try {
    const r = await fetch('/api/crisis-resources', { headers: { Accept: 'application/json' } });
    if (r.ok) setCrisisResources(await r.json());
  } catch {
    /* keep the defaults */
  }
}

/** The deployment's settings the client needs (its time zone); resolves even when the server cannot be reached. */
export async function loadDeploymentConfig() {
  try {
    const r = await fetch('/api/config', { headers: { Accept: 'application/json' } });
    if (r.ok) {
      const c = await r.json();
      if (c && typeof c.time_zone === 'string') setTimeZone(c.time_zone);
    }
  } catch {
    /* the browser's own zone */
  }
}

export function initChrome() {
  byTestId('crisis-button').addEventListener('click', () => openCrisis(false));
  loadCrisisResources();
}
