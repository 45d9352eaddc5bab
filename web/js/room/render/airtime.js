// Airtime per member (facilitators; from an `airtime` frame, refreshed by controls/airtime.js).

import { h, byTestId as T, replaceChildren, formatAgo } from '../../dom.js';

export function renderAirtime(members) {
  const rows = [...members].sort((a, b) => b.messages - a.messages);
  const table = h('table', { class: 'airtime', testid: 'airtime-table' },
    h('caption', { class: 'sr-only' }, 'Airtime per member'),
    h('thead', null, h('tr', null, h('th', { scope: 'col' }, 'Name'), h('th', { scope: 'col' }, 'Messages'), h('th', { scope: 'col' }, 'Quiet for'))),
    h('tbody', null, rows.map((a) => h('tr', { testid: 'airtime-row' }, h('td', null, a.name), h('td', null, String(a.messages)), h('td', null, formatAgo(a.quiet_ms))))));
  replaceChildren(T('airtime-view'), [table]);
}
