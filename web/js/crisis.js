// Crisis resources as the person sees them: the emergency line first, then
// those of the province or territory they picked (kept in this browser), then
// the national ones, then the other provinces'. Each way to reach a line is a
// link: tel: to call, sms: to text, the chat address in a new tab.

import { h } from './dom.js';

export const REGIONS = [
  ['AB', 'Alberta'], ['BC', 'British Columbia'], ['MB', 'Manitoba'], ['NB', 'New Brunswick'],
  ['NL', 'Newfoundland and Labrador'], ['NS', 'Nova Scotia'], ['NT', 'Northwest Territories'],
  ['NU', 'Nunavut'], ['ON', 'Ontario'], ['PE', 'Prince Edward Island'], ['QC', 'Quebec'],
  ['SK', 'Saskatchewan'], ['YT', 'Yukon'],
];
const REGION_NAMES = new Map(REGIONS);
const LANGUAGE_NAMES = { en: 'English', fr: 'French' };

function languageName(code) {
  if (LANGUAGE_NAMES[code]) return LANGUAGE_NAMES[code];
  try {
    return new Intl.DisplayNames(['en'], { type: 'language' }).of(code) || code;
  } catch {
    return code;
  }
}

// The only thing Huddle keeps in localStorage: a province says nothing about any room.
const REGION_KEY = 'huddle.region';

export function savedRegion() {
  try {
    const r = localStorage.getItem(REGION_KEY);
    return REGION_NAMES.has(r) ? r : '';
  } catch {
    return '';
  }
}

export function saveRegion(r) {
  try {
    if (REGION_NAMES.has(r)) localStorage.setItem(REGION_KEY, r);
    else localStorage.removeItem(REGION_KEY);
  } catch {
    /* storage disabled: the choice lasts for this page */
  }
}

const national = (r) => !r.region || r.region === 'CA';

/** The order to show: emergency, the person's region, national, the others (stable within each). */
export function orderCrisis(list, region) {
  const rank = (r) => {
    if (r.emergency) return 0;
    if (region && r.region === region) return 1;
    if (national(r)) return 2;
    return 3;
  };
  return list.map((r, i) => [rank(r), i, r]).sort((a, b) => a[0] - b[0] || a[1] - b[1]).map((x) => x[2]);
}

const telNumber = (n) => String(n).replace(/[^0-9+]/g, '');

function reachLinks(r) {
  const links = [];
  if (r.call && telNumber(r.call)) {
    links.push(h('a', { href: 'tel:' + telNumber(r.call), class: 'crisis-contact', testid: 'crisis-call' }, `Call ${r.call}`));
  }
  if (r.text && telNumber(r.text)) {
    links.push(h('a', { href: 'sms:' + telNumber(r.text), class: 'crisis-contact', testid: 'crisis-text' }, `Text ${r.text}`));
  }
  if (r.chat_url && /^https?:\/\/[^\s<>"]+$/.test(r.chat_url)) {
    links.push(h('a', { href: r.chat_url, target: '_blank', rel: 'noopener noreferrer', class: 'crisis-contact', testid: 'crisis-chat' }, 'Chat online'));
  }
  return links;
}

/** A server that sends only label + contact (older, or before this change): the contact as text or a link. */
function contactNode(contact) {
  const c = String(contact || '');
  if (/^\+?[0-9][0-9 ().-]{1,20}$/.test(c)) {
    return h('a', { href: 'tel:' + telNumber(c), class: 'crisis-contact', testid: 'crisis-call' }, c);
  }
  if (/^https:\/\/[^\s<>"]+$/.test(c)) {
    return h('a', { href: c, target: '_blank', rel: 'noopener noreferrer', class: 'crisis-contact' }, c);
  }
  return h('span', { class: 'crisis-contact' }, c);
}

function item(r) {
  const links = reachLinks(r);
  const meta = [];
  if (r.hours) meta.push(r.hours);
  if (r.region && r.region !== 'CA') meta.push(REGION_NAMES.get(r.region) || r.region);
  else if (r.region === 'CA') meta.push('Canada-wide');
  if (Array.isArray(r.languages) && r.languages.length) {
    meta.push(r.languages.map(languageName).join(', '));
  }
  return h('li', { testid: 'crisis-item', class: r.emergency ? 'crisis-emergency' : null, dataset: { region: r.region || '' } },
    h('span', { class: 'crisis-label', testid: 'crisis-label' }, r.label),
    links.length ? h('span', { class: 'crisis-links' }, links) : contactNode(r.contact),
    meta.length ? h('span', { class: 'crisis-meta muted small', testid: 'crisis-meta' }, meta.join(' · ')) : null);
}

/** The list items for `list`, in the order for `region`. */
export function crisisItems(list, region) {
  if (!list.length) {
    return [h('li', { testid: 'crisis-item' }, 'If you are in immediate danger, call 911 or your local emergency number.')];
  }
  return orderCrisis(list, region).map(item);
}

/** The "Your province or territory" select; calls onChange(code) after saving it. */
export function regionSelect(onChange) {
  const sel = h('select', { id: 'crisis-region', testid: 'crisis-region', class: 'crisis-region' },
    h('option', { value: '' }, 'Choose…'),
    REGIONS.map(([code, name]) => h('option', { value: code }, name)));
  sel.value = savedRegion();
  sel.addEventListener('change', () => {
    saveRegion(sel.value);
    onChange(sel.value);
  });
  return h('p', { class: 'crisis-region-row' },
    h('label', { for: 'crisis-region' }, 'Your province or territory '), sel);
}
