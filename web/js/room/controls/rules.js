// Ground rules: accept / close / reopen the dialog; a facilitator saves or re-shows them.

import { byTestId as T } from '../../dom.js';
import { myMember } from '../../state.js';
import { toast } from '../../ui.js';
import { openRules } from '../render/rules.js';
import { on } from './on.js';

export function wireRules(app) {
  on('rules-accept', 'click', () => {
    app.send({ type: 'accept_rules', version: app.state.rules.version });
    // Optimistic: the member_updated event confirms it.
    const me = myMember(app.state);
    if (me) me.accepted_rules = app.state.rules.version;
    T('rules-dialog').close();
    app.redraw('me');
    T('chat-input').focus();
  });
  on('rules-close', 'click', () => T('rules-dialog').close());
  on('rules-open', 'click', () => openRules(app, 'join'));
}

export function wireRulesEditor(app) {
  on('rules-save', 'click', () => {
    const rules = T('rules-editor').value.split('\n').map((s) => s.trim()).filter(Boolean);
    if (!rules.length) return toast('Write at least one rule.', { kind: 'error' });
    if (app.send({ type: 'set_ground_rules', rules })) toast('Ground rules saved. Everyone will be asked to accept them.');
  });
  on('rules-show', 'click', () => app.send({ type: 'show_ground_rules' }));
}
