// Highlights (consensus, takeaways, actions) with their +1s; a facilitator edits or removes them
// in place (which one is being edited is kept on the app). Actions: controls/highlights.js.

import { h, byTestId as T, replaceChildren } from '../../dom.js';
import { TAG_LABEL } from '../labels.js';
import { toggleAgree, startEdit, saveEdit, cancelEdit, removeHighlight } from '../controls/highlights.js';

export function renderHighlights(app) {
  const st = app.state;
  const fac = app.amFac();
  const active = app.phase === 'in';
  const items = st.highlights.map((hl) => {
    const agreed = hl.agreed.includes(st.me.member_id);
    const n = hl.agreed.length;
    const li = h('li', { class: `highlight tag-${hl.tag}`, testid: 'highlight', dataset: { highlightId: hl.id, messageId: hl.message_id || '' } },
      h('span', { class: 'badge tag', testid: 'highlight-tag' }, TAG_LABEL[hl.tag] || hl.tag),
      h('p', { class: 'highlight-text', testid: 'highlight-text' }, hl.text),
      h('div', { class: 'highlight-foot' },
        h('span', { class: 'highlight-count', testid: 'highlight-count', dataset: { count: String(n) } }, `${n} agree`),
        active ? h('button', {
          type: 'button', class: `small agree${agreed ? ' on' : ''}`, testid: 'highlight-agree', 'aria-pressed': String(agreed),
          dataset: { focusKey: 'ag:' + hl.id },
          'aria-label': agreed ? `Remove your +1 from: ${hl.text}` : `+1, I agree: ${hl.text}`,
          onclick: () => toggleAgree(app, hl.id, agreed),
        }, agreed ? '✓ +1' : '+1') : null));
    if (fac && active) {
      if (app.editingHighlight === hl.id) {
        const sel = h('select', { 'aria-label': 'Kind', testid: 'highlight-edit-tag' },
          Object.entries(TAG_LABEL).map(([v, l]) => h('option', { value: v, selected: v === hl.tag }, l)));
        const ta = h('textarea', { 'aria-label': 'Highlight text', testid: 'highlight-edit-text', rows: '2', maxlength: '500', value: hl.text });
        li.append(h('div', { class: 'highlight-edit' }, sel, ta,
          h('div', { class: 'row-buttons' },
            h('button', { type: 'button', class: 'small primary', testid: 'highlight-edit-save', onclick: () => saveEdit(app, hl.id, sel.value, ta.value.trim()) }, 'Save'),
            h('button', { type: 'button', class: 'small', onclick: () => cancelEdit(app) }, 'Cancel'))));
      } else {
        li.append(h('div', { class: 'row-buttons' },
          h('button', { type: 'button', class: 'small', testid: 'highlight-edit', dataset: { focusKey: 'he:' + hl.id }, onclick: () => startEdit(app, hl.id) }, 'Edit'),
          h('button', { type: 'button', class: 'small danger', testid: 'highlight-remove', dataset: { focusKey: 'hr:' + hl.id }, onclick: () => removeHighlight(app, hl.id) }, 'Remove')));
      }
    }
    return li;
  });
  replaceChildren(T('highlights-list'), items.length ? items : [h('li', { class: 'muted small' }, 'Points of consensus and key takeaways will appear here.')]);
}
