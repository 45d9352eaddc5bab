// The lead facilitator: rotating the facilitator key, behind a confirmation (`rotate_key`). The
// new key comes back to the lead alone, once, in a `facilitator_key` reply: app.js keeps it
// (sessionStorage, the facilitator link) and render/lead.js shows the new link to copy.

import { byTestId as T } from '../../dom.js';
import { toast } from '../../ui.js';
import { renderLead, closeNewKey } from '../render/lead.js';
import { on } from './on.js';

export function wireLead(app) {
  on('rotate-key', 'click', () => {
    app.confirmRotate = true;
    renderLead(app);
    T('rotate-key-cancel').focus();
  });
  on('rotate-key-cancel', 'click', () => {
    app.confirmRotate = false;
    renderLead(app);
    T('rotate-key').focus();
  });
  on('rotate-key-confirm', 'click', () => {
    app.confirmRotate = false;
    app.send({ type: 'rotate_key' });
    renderLead(app);
    T('rotate-key').focus();
  });
  on('new-fac-link-copy', 'click', async () => {
    const input = T('new-fac-link');
    try {
      await navigator.clipboard.writeText(input.value);
      toast('New facilitator link copied.');
    } catch {
      input.select();
      toast('Select the link and copy it (Ctrl+C / ⌘C).');
    }
  });
  on('new-fac-link', 'focus', () => T('new-fac-link').select());
  on('new-key-done', 'click', () => {
    closeNewKey();
    T('rotate-key').focus();
  });
}
