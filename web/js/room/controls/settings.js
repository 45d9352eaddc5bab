// Room settings (facilitators): share link, waiting room, lock, who may park, slow mode, the
// welcome message and the pinned note. render/settings.js mirrors them from the room.

import { byTestId as T } from '../../dom.js';
import { toast } from '../../ui.js';
import { on } from './on.js';

export function wireShare() {
  on('share-copy', 'click', async () => {
    const link = T('share-link').value;
    try {
      await navigator.clipboard.writeText(link);
      toast('Link copied.');
    } catch {
      T('share-link').select();
      toast('Select the link and copy it (Ctrl+C / ⌘C).');
    }
  });
  on('share-link', 'focus', () => T('share-link').select());
}

export function wireSettings(app) {
  on('waiting-toggle', 'change', (e) => app.send({ type: 'set_waiting_room', enabled: e.target.checked }));
  on('lock-toggle', 'change', (e) => app.send({ type: 'lock', locked: e.target.checked }));
  on('parking-toggle', 'change', (e) => app.send({ type: 'allow_parking', enabled: e.target.checked }));
  on('slowmode-apply', 'click', () => app.send({ type: 'slow_mode', secs: Number(T('slowmode-select').value) || 0 }));
}

export function wireNotes(app) {
  on('welcome-save', 'click', () => {
    const text = T('welcome-input').value.trim();
    if (app.send(text ? { type: 'set_welcome', text } : { type: 'set_welcome', text: null })) toast('Welcome message saved.');
  });
  on('pin-save', 'click', () => {
    const text = T('pin-input').value.trim();
    app.send({ type: 'pin', text: text || null });
  });
  on('pin-clear', 'click', () => {
    T('pin-input').value = '';
    app.send({ type: 'pin', text: null });
  });
}
