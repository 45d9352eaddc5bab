// Effects the reducer (js/state.js applyEvent) asks for beyond redrawing panels: incremental
// message updates, toasts, dialogs and banners. One case per effect kind.

import { byTestId as T, formatClockZoned } from '../dom.js';
import { isFac } from '../state.js';
import { clearBanner, toast, dismissToast, openCrisis } from '../ui.js';
import { ROLE_LABEL } from './labels.js';
import { syncMessages, rebuildMessages, updateReactions } from './render/messages.js';
import { openRules } from './render/rules.js';
import { showWarning } from './render/clock.js';
import { showSupportRequest, showOneOnOne } from './render/support.js';
import { keyRotated } from './render/lead.js';
import { listEnergizers } from './controls/energizer.js';
import { declineShare } from './controls/roster.js';
import { chatPosted } from './controls/chat.js';
import { onRemoved } from './lifecycle.js';

export function applyEffect(app, e) {
  const st = app.state;
  switch (e.kind) {
    case 'chat':
      syncMessages(app, e.message.from === st.me.member_id);
      if (e.message.from === st.me.member_id) chatPosted(app, e.message);
      break;
    case 'reaction':
      updateReactions(app, e.message_id);
      break;
    case 'message_deleted':
      syncMessages(app, false);
      break;
    case 'rerender_messages':
      rebuildMessages(app);
      break;
    case 'role_changed':
      rebuildMessages(app);
      app.renderAll();
      toast(e.role === 'participant' ? 'You are a participant again.' : `You are now ${ROLE_LABEL[e.role].toLowerCase()}.`);
      if (isFac(e.role) && !app.energizerLib) listEnergizers(app);
      break;
    case 'muted':
      toast(e.on ? 'A facilitator has muted you for now.' : 'You can post again.');
      break;
    case 'i_left':
      if (e.reason === 'removed') onRemoved(app);
      break;
    case 'rules':
      if (isFac(st.me.role)) {
        if (!e.updated) toast('The ground rules were shown to everyone.');
      } else {
        openRules(app, e.updated ? 'updated' : 'shown');
      }
      break;
    case 'status':
      if (e.to === 'open' && e.from === 'paused') toast('A facilitator is back. The room is open again.');
      break;
    case 'extended':
      toast(`The session was extended. It now ends at ${formatClockZoned(e.ends_at)}.`);
      break;
    case 'warning':
      app.warnLevel = e.minutes;
      showWarning(e.minutes);
      break;
    case 'ended':
      clearBanner('warning');
      clearBanner('paused');
      app.stopFor('ended');
      app.forgetRoom(); // the summary stays on screen; nothing of the room stays in storage
      T('summary-panel').scrollIntoView({ block: 'nearest' });
      break;
    case 'energizer':
      toast('A new energizer is up.');
      break;
    case 'called_on':
      if (e.member_id === st.me.member_id) {
        toast('The facilitator invites you to speak — whenever you are ready.', { testid: 'toast-called-on' });
      }
      break;
    case 'support':
      showSupportRequest(app, e.request);
      break;
    case 'one_on_one':
      showOneOnOne(app, e.ev);
      break;
    case 'support_update': {
      // Where my request stands at the on-call desk: in the crisis dialog, and as a toast.
      const el = T('oncall-status');
      el.textContent = e.ev.message;
      el.hidden = false;
      // The crisis lines with it (keeping what the dialog already says).
      if (e.ev.state === 'nobody_on_call') openCrisis(!T('crisis-alerted').hidden);
      toast(e.ev.message, { testid: 'toast-support-update', key: 'support-update', timeout: 0 });
      break;
    }
    case 'share_invite':
      toast(`${e.from_name} gently invites you to share, if you would like to.`, {
        testid: 'share-invite-toast',
        actions: [
          { label: 'Not now', testid: 'share-decline', onClick: () => declineShare(app, e.invite_id) },
          { label: 'Okay', testid: 'share-accept' },
        ],
        timeout: 60000,
      });
      break;
    case 'room_notice':
      // Shown from the room status (banners).
      if (e.code === 'paused' || e.code === 'resumed' || e.code === 'no_facilitator') break;
      // lead_returned, facilitator_takeover, and codes a newer server may add.
      toast(e.message || 'Something changed in the room.', { testid: 'toast-room-notice' });
      break;
    case 'key_rotated':
      keyRotated(app, e);
      break;
    case 'toast':
      toast(e.text, { key: e.key });
      break;
    case 'dismiss_toast':
      dismissToast(e.key);
      break;
    default:
      break;
  }
}
