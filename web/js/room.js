// The room: connection lifecycle, frame handling and every panel of the
// participant and facilitator views.

import { h, byTestId, replaceChildren, formatDuration, formatClock, formatAgo, formatDateTime, show } from './dom.js';
import { Connection } from './conn.js';
import { store } from './store.js';
import { fromSnapshot, applyEvent, isFac, member, myMember, nameOf, needsRules } from './state.js';
import { showView, setBanner, clearBanner, toast, dismissToast, openCrisis, setCrisisResources } from './ui.js';

const PROTOCOL_VERSION = 1;
const REACTIONS = [
  ['👍', 'thumbs up'],
  ['❤️', 'heart'],
  ['🙏', 'thank you'],
  ['💡', 'insight'],
  ['🤝', 'solidarity'],
];
const TAG_LABEL = { consensus: 'Consensus', takeaway: 'Key takeaway', action: 'Action' };
const ROLE_LABEL = { facilitator: 'Facilitator', co_facilitator: 'Co-facilitator', participant: 'Participant' };
const ENERGY_LABEL = ['1 — running on empty', '2 — low', '3 — okay', '4 — good', '5 — full of energy'];

const T = (id) => byTestId(id);

export class RoomApp {
  constructor(roomId, { name, key }) {
    this.roomId = roomId;
    this.name = name;
    this.key = key || null;
    this.state = null;
    this.phase = 'connecting'; // connecting | lobby | waiting | in | ended | removed | left | declined | error
    this.offset = 0; // server clock - local clock (ms)
    this.lobbyStartsAt = null;
    this.openDetails = new Set(); // roster action menus the user opened
    this.confirmRemove = null; // member id awaiting remove confirmation
    this.editingHighlight = null;
    this.lastChat = null; // text of the last chat sent (restored if refused)
    this.distressPending = false;
    this.warnLevel = 0; // 5 or 1 once that session warning was shown
    this.saveTimer = null;
    this.wired = false;

    const saved = store.state(roomId);
    if (saved && saved.me && typeof saved.seq === 'number') this.state = saved;
  }

  // ------------------------------------------------------------------ life

  start() {
    this.wire();
    if (this.state) {
      // A reload: draw what we had, then resume from its seq.
      this.phase = this.state.summary ? 'ended' : 'in';
      this.renderAll();
      showView('room');
    } else {
      this.showStatus('Connecting…', 'Joining the session.');
    }
    this.conn = new Connection({
      joinFrame: () => this.joinFrame(),
      onFrame: (m) => this.onFrame(m),
      onStatus: (s, info) => this.onConnStatus(s, info),
      onClose: (code, reason) => this.onClose(code, reason),
      onPong: (rtt, serverTime, t) => {
        this.offset = serverTime + rtt / 2 - Date.now();
        void t;
      },
    });
    if (this.phase === 'ended') {
      // Nothing more to receive: the summary is on screen.
      this.conn.stopped = true;
    } else {
      this.conn.connect();
    }
    this.tickTimer = setInterval(() => this.tick(), 250);
    window.addEventListener('pagehide', () => this.saveNow());
    window.__huddle = {
      dropSocket: (holdMs = 0) => this.conn && this.conn.drop(holdMs),
      state: () => this.state,
      phase: () => this.phase,
      serverNow: () => this.serverNow(),
      isOpen: () => !!(this.conn && this.conn.isOpen()),
    };
  }

  serverNow() {
    return Date.now() + this.offset;
  }

  joinFrame() {
    const f = { type: 'join', v: PROTOCOL_VERSION, room_id: this.roomId, name: this.name || 'Guest' };
    if (this.key) f.facilitator_key = this.key;
    const r = store.resume(this.roomId);
    if (r && r.member_id && r.token) {
      f.resume = {
        member_id: r.member_id,
        token: r.token,
        last_seq: this.state ? this.state.seq : 0,
        // An unknown epoch makes the server send a fresh snapshot.
        epoch: this.state ? this.state.epoch : '',
      };
    }
    return f;
  }

  send(msg) {
    if (!this.conn || !this.conn.send(msg)) {
      toast('You are offline for a moment — reconnecting. Please try again shortly.', { kind: 'error' });
      return false;
    }
    return true;
  }

  saveSoon() {
    if (this.saveTimer) return;
    this.saveTimer = setTimeout(() => {
      this.saveTimer = null;
      this.saveNow();
    }, 400);
  }

  saveNow() {
    if (this.state && (this.phase === 'in' || this.phase === 'ended')) store.setState(this.roomId, this.state);
  }

  stopFor(phase) {
    this.phase = phase;
    if (this.conn) this.conn.stop();
    clearBanner('reconnecting');
    const rules = T('rules-dialog');
    if (rules.open) rules.close();
    this.renderMe();
  }

  // ------------------------------------------------------------- frames

  onFrame(m) {
    if (!m || typeof m.type !== 'string') return;
    switch (m.type) {
      case 'welcome': return this.onWelcome(m);
      case 'resumed': return this.onResumed(m);
      case 'lobby': return this.onLobby(m);
      case 'waiting': return this.onWaiting(m);
      case 'event': return this.onEvent(m);
      case 'energizers': return this.onEnergizers(m.energizers || []);
      case 'airtime': return this.onAirtime(m.members || []);
      case 'crisis': {
        setCrisisResources(m.resources);
        if (this.state) this.state.crisis = m.resources;
        if (this.distressPending) {
          this.distressPending = false;
    this.warnLevel = 0; // 5 or 1 once that session warning was shown
          openCrisis(true);
        }
        return;
      }
      case 'pong': return;
      case 'notice': return this.onNotice(m);
      case 'error': return this.onError(m);
      default: return;
    }
  }

  onWelcome(m) {
    const hadState = !!this.state && this.phase !== 'waiting' && this.phase !== 'lobby';
    this.state = fromSnapshot(m.room, m.you);
    this.offset = m.server_time - Date.now();
    store.setResume(this.roomId, { member_id: m.you.member_id, token: m.you.resume_token });
    store.setName(this.roomId, this.name);
    this.conn.joined();
    this.conn.ping(); // refine the clock offset with a round trip
    this.phase = m.room.info.status === 'closed' ? 'ended' : 'in';
    clearBanner('reconnecting');
    clearBanner('elsewhere');
    setCrisisResources(m.room.crisis_resources);
    if (m.history_reset && hadState) {
      setBanner('history-reset', 'You were away for a while: some history could not be recovered.', 'calm', [
        { label: 'OK', testid: 'history-reset-ok', onClick: () => clearBanner('history-reset') },
      ]);
    }
    this.rebuildMessages();
    this.renderAll();
    showView('room');
    if (needsRules(this.state) && this.phase === 'in') this.openRules('join');
    if (isFac(this.state.me.role) && !this.energizerLib) this.send({ type: 'list_energizers' });
    this.saveNow();
  }

  onResumed(m) {
    store.setResume(this.roomId, { member_id: m.you.member_id, token: m.you.resume_token });
    this.offset = m.server_time - Date.now();
    this.conn.joined();
    this.conn.ping();
    if (this.state && this.state.me.role !== m.you.role) {
      this.state.me.role = m.you.role;
      this.renderAll();
    }
    if (this.phase !== 'ended') this.phase = 'in';
    clearBanner('reconnecting');
    clearBanner('elsewhere');
    showView('room');
    this.renderMe();
    this.saveNow();
  }

  onLobby(m) {
    this.phase = 'lobby';
    this.conn.joined();
    this.lobbyStartsAt = m.starts_at;
    this.showStatus('The session has not started yet', `It opens at ${formatDateTime(m.starts_at)}. Stay on this page: you will be let in automatically.`, { countdownTo: m.starts_at, leave: true });
  }

  onWaiting() {
    this.phase = 'waiting';
    this.conn.joined();
    this.showStatus('You are in the waiting room', 'A facilitator will let you in shortly. Thank you for your patience.', { leave: true });
  }

  onEvent(m) {
    if (!this.state) return; // not in the room (yet)
    if (typeof m.seq !== 'number' || m.seq <= this.state.seq) return; // already applied
    this.state.seq = m.seq;
    const ev = m.event || {};
    const { dirty, effects } = applyEvent(this.state, m.seq, ev);
    for (const e of effects) this.effect(e);
    this.renderDirty(dirty);
    this.saveSoon();
  }

  onNotice(m) {
    switch (m.code) {
      case 'degraded':
        setBanner('degraded', m.message || 'The service is degraded; some things may be slow.', 'warn');
        break;
      case 'recovered':
        clearBanner('degraded');
        toast(m.message || 'The service has recovered.');
        break;
      case 'shutting_down':
        setBanner('shutting-down', m.message || 'The server is restarting. You will be reconnected automatically.', 'warn');
        break;
      default:
        toast(m.message || m.code);
    }
  }

  onError(m) {
    const code = m.code;
    if (m.refused === 'join') return this.onJoinRefused(m);
    switch (code) {
      case 'removed':
        return this.onRemoved(m.message);
      case 'room_closed':
        if (this.state && !this.state.summary) toast('This session has ended.', { kind: 'error' });
        return;
      case 'rules_not_accepted':
        this.restoreChat(m);
        this.openRules('join');
        return;
      default:
        this.restoreChat(m);
        toast(m.message || 'That did not work.', { kind: 'error' });
    }
  }

  restoreChat(m) {
    if (m.refused === 'chat' && this.lastChat) {
      const input = T('chat-input');
      if (!input.value) input.value = this.lastChat;
      this.lastChat = null;
    }
  }

  onJoinRefused(m) {
    const home = { home: true };
    switch (m.code) {
      case 'bad_resume':
        // The old membership is gone: join afresh (a new connection is needed).
        store.forget(this.roomId);
        this.state = null;
        this.phase = 'connecting';
        this.conn.restart();
        return;
      case 'room_not_found':
        store.forget(this.roomId);
        this.stopFor('error');
        return this.showStatus('We could not find this session', 'The link may be mistyped, or the session is over.', home);
      case 'room_closed':
        this.stopFor('ended');
        if (this.state && this.state.summary) {
          this.renderAll();
          showView('room');
          return;
        }
        store.forget(this.roomId);
        return this.showStatus('This session has ended', 'Thank you for taking part. Take care of yourself.', home);
      case 'removed':
        store.forget(this.roomId);
        this.stopFor('removed');
        return this.showStatus('You cannot rejoin this session', m.message || 'A facilitator removed you from this session.', home);
      case 'forbidden':
        if (this.phase === 'waiting') return this.onDeclined(m.message);
        store.setKey(this.roomId, null);
        this.key = null;
        this.stopFor('error');
        return this.showStatus('This facilitator link is not valid', m.message || 'The key in the link does not match this session.', {
          home: true,
          retry: { label: 'Join as a participant instead', run: () => this.retry() },
        });
      case 'room_locked':
        this.stopFor('error');
        return this.showStatus('The room is locked right now', 'The facilitator has locked this session. You can try again in a little while.', { home: true, retry: { label: 'Try again', run: () => this.retry() } });
      case 'room_full':
        this.stopFor('error');
        return this.showStatus('The room is full', 'This session has reached its capacity. You can try again in a little while.', { home: true, retry: { label: 'Try again', run: () => this.retry() } });
      case 'invalid_name':
        this.stopFor('error');
        if (this.onBadName) return this.onBadName(m.message);
        return this.showStatus('Please choose another name', m.message, home);
      case 'version_mismatch':
        this.stopFor('error');
        return this.showStatus('Please reload the page', 'This page is out of date with the server.', home);
      default:
        // Transient (rate limited, unavailable...): try again with backoff.
        toast(m.message || 'Could not join yet; trying again.', { kind: 'error' });
        this.conn.drop();
    }
  }

  retry() {
    this.phase = 'connecting';
    this.conn.stopped = false;
    this.showStatus('Connecting…', 'Joining the session.');
    this.conn.restart();
  }

  onDeclined(message) {
    store.forget(this.roomId);
    this.stopFor('declined');
    this.showStatus('You were not admitted', message || 'The facilitator could not admit you to this session.', { home: true });
  }

  onRemoved(message) {
    store.forget(this.roomId);
    this.stopFor('removed');
    setBanner('removed', message || 'A facilitator removed you from this session.', 'danger', [{ label: 'Back to start', href: '/', testid: 'removed-home' }]);
    this.renderAll();
  }

  onClose(code) {
    if (['removed', 'declined', 'left', 'ended', 'error'].includes(this.phase)) return 'stop';
    if (code === 4001) {
      this.onRemoved();
      return 'stop';
    }
    if (code === 4003) {
      this.onDeclined();
      return 'stop';
    }
    if (code === 4000) {
      // Another tab resumed this membership.
      this.phase = 'elsewhere';
      setBanner('elsewhere', 'This session continued in another tab or window.', 'warn', [
        { label: 'Use it here', testid: 'elsewhere-here', onClick: () => { clearBanner('elsewhere'); this.phase = 'in'; this.conn.stopped = false; this.conn.restart(); } },
      ]);
      return 'stop';
    }
    return 'retry';
  }

  onConnStatus(s) {
    const el = T('conn-status');
    if (s === 'reconnecting' && (this.phase === 'in' || this.phase === 'connecting' || this.phase === 'waiting' || this.phase === 'lobby')) {
      el.hidden = false;
      el.textContent = 'Reconnecting…';
      if (this.phase === 'in') {
        setBanner('reconnecting', 'Connection lost — reconnecting… You will not miss anything.', 'warn');
      }
    } else if (s === 'open') {
      el.hidden = true;
      el.textContent = '';
    } else if (s === 'closed') {
      el.hidden = true;
      clearBanner('reconnecting');
    }
  }

  // ------------------------------------------------------------ effects

  effect(e) {
    const st = this.state;
    switch (e.kind) {
      case 'chat':
        this.syncMessages(e.message.from === st.me.member_id);
        break;
      case 'reaction':
        this.updateReactions(e.message_id);
        break;
      case 'message_deleted':
        this.syncMessages(false);
        break;
      case 'rerender_messages':
        this.rebuildMessages();
        break;
      case 'role_changed':
        this.rebuildMessages();
        this.renderAll();
        toast(e.role === 'participant' ? 'You are a participant again.' : `You are now ${ROLE_LABEL[e.role].toLowerCase()}.`);
        if (isFac(e.role) && !this.energizerLib) this.send({ type: 'list_energizers' });
        break;
      case 'muted':
        toast(e.on ? 'A facilitator has muted you for now.' : 'You can post again.');
        break;
      case 'i_left':
        if (e.reason === 'removed') this.onRemoved();
        break;
      case 'rules':
        if (isFac(st.me.role)) {
          if (!e.updated) toast('The ground rules were shown to everyone.');
        } else {
          this.openRules(e.updated ? 'updated' : 'shown');
        }
        break;
      case 'status':
        if (e.to === 'open' && e.from === 'paused') toast('A facilitator is back. The room is open again.');
        break;
      case 'extended':
        toast(`The session was extended. It now ends at ${formatClock(e.ends_at)}.`);
        break;
      case 'warning':
        this.warnLevel = e.minutes;
        this.showWarning(e.minutes);
        break;
      case 'ended':
        clearBanner('warning');
        clearBanner('paused');
        this.stopFor('ended');
        this.saveNow();
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
        if (isFac(st.me.role) && e.request.member_id !== st.me.member_id) {
          toast(e.request.urgent ? `URGENT: ${e.request.name} signalled distress.` : `${e.request.name} asked for support.`, { kind: e.request.urgent ? 'error' : 'info', testid: 'toast-support' });
        } else if (e.request.member_id === st.me.member_id) {
          const el = T('support-sent');
          el.textContent = e.request.urgent
            ? 'The facilitators have been alerted privately.'
            : 'Your request was sent privately to the facilitators. Someone will reach out.';
          el.hidden = false;
        }
        break;
      case 'one_on_one':
        this.onOneOnOne(e.ev);
        break;
      case 'share_invite':
        toast(`${e.from_name} gently invites you to share, if you would like to.`, {
          testid: 'share-invite-toast',
          actions: [
            { label: 'Not now', testid: 'share-decline', onClick: () => this.send({ type: 'decline_share', invite_id: e.invite_id }) },
            { label: 'Okay', testid: 'share-accept' },
          ],
          timeout: 60000,
        });
        break;
      case 'room_notice':
        if (e.code === 'paused' || e.code === 'resumed') break; // shown from the room status
        toast(e.message);
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

  showWarning(minutes) {
    setBanner('warning', minutes === 1 ? 'About one minute left in this session.' : `About ${minutes} minutes left in this session.`, 'warn', [
      { label: 'OK', testid: 'warning-ok', onClick: () => clearBanner('warning') },
    ]);
  }

  onOneOnOne(ev) {
    if (ev.facilitator_key) {
      const url = `${ev.link}#key=${encodeURIComponent(ev.facilitator_key)}&name=${encodeURIComponent(this.name || 'Facilitator')}`;
      const w = window.open(url, '_blank', 'noopener');
      void w;
      toast('A private one-on-one room is open.', { actions: [{ label: 'Open it', href: url, testid: 'one-on-one-open' }], timeout: 60000 });
    } else {
      setBanner('one-on-one', 'A facilitator opened a private one-on-one room for you.', 'calm', [
        { label: 'Join the private room', href: ev.link, target: '_blank', testid: 'one-on-one-join' },
      ]);
    }
  }

  onEnergizers(list) {
    this.energizerLib = list;
    const sel = T('energizer-select');
    const cur = sel.value;
    replaceChildren(sel, [
      h('option', { value: '' }, '— custom prompt below —'),
      ...list.map((e) => h('option', { value: e.id }, `${e.title} (${formatDuration(e.suggested_secs * 1000)})`)),
    ]);
    sel.value = list.some((e) => e.id === cur) ? cur : '';
    this.previewEnergizer();
  }

  previewEnergizer() {
    const e = (this.energizerLib || []).find((x) => x.id === T('energizer-select').value);
    T('energizer-preview').textContent = e ? e.prompt : '';
    if (e && !T('energizer-duration').value) T('energizer-duration').placeholder = String(e.suggested_secs / 60);
  }

  onAirtime(members) {
    const rows = [...members].sort((a, b) => b.messages - a.messages);
    const table = h('table', { class: 'airtime', testid: 'airtime-table' },
      h('caption', { class: 'sr-only' }, 'Airtime per member'),
      h('thead', null, h('tr', null, h('th', { scope: 'col' }, 'Name'), h('th', { scope: 'col' }, 'Messages'), h('th', { scope: 'col' }, 'Quiet for'))),
      h('tbody', null, rows.map((a) => h('tr', { testid: 'airtime-row' }, h('td', null, a.name), h('td', null, String(a.messages)), h('td', null, formatAgo(a.quiet_ms))))));
    replaceChildren(T('airtime-view'), [table]);
  }

  // ------------------------------------------------------------- status

  showStatus(title, message, opts = {}) {
    T('status-title').textContent = title;
    T('status-message').textContent = message || '';
    const cd = T('status-countdown');
    if (opts.countdownTo) {
      cd.dataset.deadline = String(opts.countdownTo);
      cd.hidden = false;
    } else {
      delete cd.dataset.deadline;
      cd.hidden = true;
    }
    show(T('status-leave'), !!opts.leave);
    show(T('status-home'), !!opts.home);
    const actions = T('status-leave').parentElement;
    for (const b of actions.querySelectorAll('[data-retry]')) b.remove();
    if (opts.retry) {
      actions.append(h('button', { type: 'button', class: 'primary', dataset: { retry: '1' }, testid: 'status-retry', onclick: opts.retry.run }, opts.retry.label));
    }
    showView('status');
  }

  // ------------------------------------------------------------ rendering

  renderAll() {
    if (!this.state) return;
    this.renderDirty(new Set(['roster', 'messages', 'rules', 'info', 'timers', 'energizer', 'highlights', 'energy', 'hands', 'waiting', 'support', 'parking', 'summary', 'me']));
  }

  renderDirty(d) {
    if (!this.state) return;
    if (d.has('info')) this.renderInfo();
    if (d.has('roster')) this.renderRoster();
    if (d.has('hands')) this.renderHands();
    if (d.has('messages')) this.syncMessages(false);
    if (d.has('timers')) this.renderTimers();
    if (d.has('energizer')) this.renderEnergizer();
    if (d.has('highlights')) this.renderHighlights();
    if (d.has('energy')) this.renderEnergy();
    if (d.has('waiting')) this.renderWaiting();
    if (d.has('support')) this.renderSupport();
    if (d.has('parking')) this.renderParking();
    if (d.has('summary')) this.renderSummary();
    if (d.has('rules')) this.renderRulesList();
    if (d.has('me') || d.has('info') || d.has('roster')) this.renderMe();
  }

  amFac() {
    return !!this.state && isFac(this.state.me.role) && !['removed', 'left'].includes(this.phase);
  }

  renderInfo() {
    const { info } = this.state;
    const title = T('room-title');
    title.textContent = info.title;
    title.hidden = false;
    document.title = `${info.title} — Huddle`;
    // Room-wide banners from the room's settings.
    if (info.status === 'paused' && !isFac(this.state.me.role)) {
      setBanner('paused', 'A facilitator will be back shortly; you can read but not post.', 'calm');
    } else {
      clearBanner('paused');
    }
    if (info.pinned) setBanner('pinned', `📌 ${info.pinned}`, 'info');
    else clearBanner('pinned');
    const notices = T('room-notices');
    replaceChildren(notices, info.welcome_message
      ? [h('div', { class: 'welcome-note', testid: 'welcome-message' }, h('strong', null, 'Welcome. '), info.welcome_message)]
      : []);
    if (info.status === 'closed') {
      setBanner('closed', 'This session has ended. Thank you for taking part — the summary is below.', 'calm');
    }
    // Facilitator settings mirror the room.
    const setChecked = (id, v) => { const el = T(id); if (el && document.activeElement !== el) el.checked = !!v; };
    setChecked('waiting-toggle', info.waiting_room);
    setChecked('lock-toggle', info.locked);
    setChecked('parking-toggle', info.members_can_park);
    const sm = T('slowmode-select');
    if (document.activeElement !== sm) {
      const v = String(info.slow_mode_secs);
      if (![...sm.options].some((o) => o.value === v)) sm.append(h('option', { value: v }, `${v} seconds`));
      sm.value = v;
    }
    if (document.activeElement !== T('welcome-input')) T('welcome-input').value = info.welcome_message || '';
    if (document.activeElement !== T('pin-input')) T('pin-input').value = info.pinned || '';
    T('share-link').value = `${location.origin}/?room=${encodeURIComponent(info.id)}`;
    T('fac-link').value = this.key ? `${location.origin}/?room=${encodeURIComponent(info.id)}#key=${encodeURIComponent(this.key)}` : '';
    this.renderParkingForm();
  }

  renderMe() {
    if (!this.state) return;
    const st = this.state;
    const me = myMember(st);
    const fac = this.amFac();
    const inRoom = this.phase === 'in' || this.phase === 'connecting' || this.phase === 'elsewhere';
    document.body.classList.toggle('is-fac', fac);
    show(T('fac-panel'), fac && this.phase !== 'ended');
    for (const el of document.querySelectorAll('.fac-only')) el.hidden = !fac || !inRoom;
    for (const el of document.querySelectorAll('.fac-key-only')) el.hidden = !this.key;

    const raised = st.hands.includes(st.me.member_id);
    const rh = T('raise-hand');
    rh.textContent = raised ? 'Lower hand' : 'Raise hand';
    rh.setAttribute('aria-pressed', String(raised));

    // Muted banner.
    if (me && me.muted && !fac && inRoom) {
      setBanner('muted', 'A facilitator has muted you for now. You can keep reading.', 'warn');
    } else {
      clearBanner('muted');
    }

    // Composer.
    let why = null;
    let rulesButton = false;
    if (this.phase === 'removed') why = 'You were removed from this session.';
    else if (this.phase === 'ended' || st.info.status === 'closed') why = 'This session has ended.';
    else if (this.phase === 'left') why = 'You left this session.';
    else if (st.info.status === 'paused' && !fac) why = 'A facilitator will be back shortly; you can read but not post.';
    else if (me && me.muted && !fac) why = 'A facilitator has muted you for now.';
    else if (needsRules(st)) { why = 'Please read and accept the ground rules to post.'; rulesButton = true; }
    const input = T('chat-input');
    const canPost = !why;
    input.disabled = !canPost;
    T('chat-send').disabled = !canPost;
    const note = T('composer-note');
    const slow = st.info.slow_mode_secs > 0 && canPost && !fac ? `Slow mode is on: one message every ${st.info.slow_mode_secs} s.` : null;
    const text = why || slow;
    note.hidden = !text;
    replaceChildren(note, text ? [
      h('span', { testid: 'composer-why' }, text),
      rulesButton ? h('button', { type: 'button', class: 'link-button', testid: 'composer-rules', onclick: () => this.openRules('join') }, 'Read the ground rules') : null,
    ] : []);

    // Tools that need the room.
    const active = inRoom && st.info.status !== 'closed';
    for (const id of ['raise-hand', 'support-open', 'distress-button', 'leave-button']) T(id).disabled = !active;
    T('distress-button').disabled = false; // help is always one click away
    show(T('leave-button'), this.phase !== 'removed' && this.phase !== 'ended');
    T('energizer-answer-submit').disabled = !canPost;
    T('energizer-answer-input').disabled = !canPost;
  }

  renderRoster() {
    const st = this.state;
    const fac = this.amFac();
    const order = { facilitator: 0, co_facilitator: 1, participant: 2 };
    const list = [...st.roster].sort((a, b) => (order[a.role] - order[b.role]) || a.name.localeCompare(b.name));
    T('roster-count').textContent = `(${list.length})`;
    replaceChildren(T('roster-list'), list.map((m) => this.memberItem(m, fac)));
  }

  memberItem(m, fac) {
    const st = this.state;
    const me = m.id === st.me.member_id;
    const hand = st.hands.includes(m.id);
    const pmuted = st.personallyMuted.includes(m.id);
    const li = h('li', { class: `member ${m.online ? 'online' : 'away'}`, testid: 'member', dataset: { memberId: m.id, role: m.role } },
      h('span', { class: 'presence-dot', 'aria-hidden': 'true' }),
      h('span', { class: 'member-name', testid: 'member-name' }, m.name),
      me ? h('span', { class: 'badge you' }, 'you') : null,
      m.role !== 'participant' ? h('span', { class: 'badge role', testid: 'member-role' }, ROLE_LABEL[m.role]) : null,
      h('span', { class: 'presence', testid: 'member-presence' }, m.online ? 'online' : 'away'),
      hand ? h('span', { class: 'badge hand', testid: 'member-hand', title: 'Hand raised' }, '✋ hand up') : null,
      m.muted ? h('span', { class: 'badge muted', testid: 'member-muted' }, 'muted') : null,
      pmuted ? h('span', { class: 'badge hidden-for-me', testid: 'member-hidden' }, 'hidden for you') : null,
    );
    if (me || ['removed', 'left', 'ended'].includes(this.phase)) return li;
    const actions = [];
    const key = (a) => `${a}:${m.id}`;
    actions.push(h('button', {
      type: 'button', testid: 'member-personal-mute', dataset: { focusKey: key('pm') },
      onclick: () => this.send({ type: pmuted ? 'personal_unmute' : 'personal_mute', member_id: m.id }),
    }, pmuted ? 'Show their messages' : 'Hide their messages (just for me)'));
    if (fac) {
      const myRole = st.me.role;
      const canModerate = m.role === 'participant' || (m.role === 'co_facilitator' && myRole === 'facilitator');
      actions.push(h('button', { type: 'button', testid: 'member-callon', dataset: { focusKey: key('call') }, onclick: () => this.send({ type: 'call_on', member_id: m.id }) }, 'Invite to speak (call on)'));
      actions.push(h('button', { type: 'button', testid: 'member-invite', dataset: { focusKey: key('inv') }, onclick: () => { this.send({ type: 'invite_to_share', member_id: m.id }); toast(`Invitation sent to ${m.name}.`); } }, 'Gently invite to share'));
      if (hand) actions.push(h('button', { type: 'button', testid: 'member-lowerhand', dataset: { focusKey: key('lh') }, onclick: () => this.send({ type: 'lower_hand', member_id: m.id }) }, 'Lower their hand'));
      if (canModerate) {
        actions.push(m.muted
          ? h('button', { type: 'button', testid: 'member-unmute', dataset: { focusKey: key('mute') }, onclick: () => this.send({ type: 'unmute', member_id: m.id }) }, 'Unmute')
          : h('button', { type: 'button', testid: 'member-mute', dataset: { focusKey: key('mute') }, onclick: () => this.send({ type: 'mute', member_id: m.id }) }, 'Mute'));
      }
      if (m.role === 'participant') actions.push(h('button', { type: 'button', testid: 'member-promote', dataset: { focusKey: key('pro') }, onclick: () => this.send({ type: 'promote', member_id: m.id }) }, 'Make co-facilitator'));
      if (m.role === 'co_facilitator') actions.push(h('button', { type: 'button', testid: 'member-demote', dataset: { focusKey: key('pro') }, onclick: () => this.send({ type: 'demote', member_id: m.id }) }, 'Make participant'));
      if (myRole === 'facilitator' && m.role !== 'facilitator') {
        actions.push(h('button', { type: 'button', testid: 'member-handover', dataset: { focusKey: key('ho') }, onclick: () => this.send({ type: 'hand_over', member_id: m.id }) }, 'Hand over facilitation'));
      }
      if (canModerate) {
        if (this.confirmRemove === m.id) {
          actions.push(h('button', { type: 'button', class: 'danger', testid: 'member-remove-confirm', dataset: { focusKey: key('rm') }, onclick: () => { this.confirmRemove = null; this.send({ type: 'remove', member_id: m.id }); } }, `Yes, remove ${m.name}`));
          actions.push(h('button', { type: 'button', testid: 'member-remove-cancel', onclick: () => { this.confirmRemove = null; this.renderRoster(); } }, 'Cancel'));
        } else {
          actions.push(h('button', { type: 'button', class: 'danger', testid: 'member-remove', dataset: { focusKey: key('rm') }, onclick: () => { this.confirmRemove = m.id; this.renderRoster(); } }, 'Remove…'));
        }
      }
    }
    const det = h('details', { class: 'member-actions', testid: 'member-actions', open: this.openDetails.has(m.id) },
      h('summary', { 'aria-label': `Actions for ${m.name}`, dataset: { focusKey: key('sum') } }, 'Actions'),
      h('div', { class: 'action-list' }, actions));
    det.addEventListener('toggle', () => {
      if (det.open) this.openDetails.add(m.id);
      else this.openDetails.delete(m.id);
    });
    li.append(det);
    return li;
  }

  renderHands() {
    const st = this.state;
    const fac = this.amFac();
    const items = st.hands.map((id, i) => h('li', { testid: 'hand', dataset: { memberId: id } },
      h('span', null, `${i + 1}. ${nameOf(st, id)}`),
      fac ? h('button', { type: 'button', class: 'small', testid: 'hand-callon', dataset: { focusKey: 'hc:' + id }, onclick: () => this.send({ type: 'call_on', member_id: id }) }, 'Call on') : null,
      fac ? h('button', { type: 'button', class: 'small', testid: 'hand-lower', dataset: { focusKey: 'hl:' + id }, onclick: () => this.send({ type: 'lower_hand', member_id: id }) }, 'Lower') : null,
    ));
    replaceChildren(T('hands-list'), items.length ? items : [h('li', { class: 'muted small' }, 'No hands raised.')]);
  }

  // ----- messages (keyed, incremental: the live region only announces new ones)

  rebuildMessages() {
    T('message-list').replaceChildren();
    this.syncMessages(true);
  }

  syncMessages(forceScroll) {
    const st = this.state;
    if (!st) return;
    const list = T('message-list');
    const nearBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 80;
    const items = [];
    for (const m of st.messages) {
      if (st.personallyMuted.includes(m.from)) continue;
      items.push({ key: 'm:' + m.id, seq: m.seq, m });
    }
    for (const n of st.notes) items.push({ key: 'n:' + n.seq, seq: n.seq, n });
    items.sort((a, b) => a.seq - b.seq);
    const existing = new Map();
    for (const el of list.children) existing.set(el.dataset.key, el);
    let prev = null;
    for (const it of items) {
      let el = existing.get(it.key);
      if (el) existing.delete(it.key);
      else el = it.m ? this.messageItem(it.m) : h('li', { class: 'system-note', testid: 'system-note', dataset: { key: it.key } }, it.n.text);
      const want = prev ? prev.nextSibling : list.firstChild;
      if (el !== want) list.insertBefore(el, want);
      prev = el;
    }
    for (const el of existing.values()) el.remove();
    if (!items.length) {
      list.append(h('li', { class: 'system-note empty', dataset: { key: 'empty' } }, 'No messages yet. Say hello when you are ready.'));
    }
    if (forceScroll || nearBottom) list.scrollTop = list.scrollHeight;
  }

  messageItem(m) {
    const st = this.state;
    const author = member(st, m.from);
    const role = author ? author.role : null;
    const mine = m.from === st.me.member_id;
    const li = h('li', { class: `msg${mine ? ' mine' : ''}${role && role !== 'participant' ? ' by-fac' : ''}`, testid: 'message', dataset: { key: 'm:' + m.id, id: m.id, from: m.from } },
      h('div', { class: 'msg-head' },
        h('span', { class: 'msg-name', testid: 'message-name' }, m.name),
        role && role !== 'participant' ? h('span', { class: 'badge role' }, ROLE_LABEL[role]) : null,
        h('time', { class: 'msg-time', datetime: new Date(m.ts).toISOString() }, formatClock(m.ts))),
      h('p', { class: 'msg-text', testid: 'message-text' }, m.text),
      h('div', { class: 'msg-reactions', testid: 'message-reactions' }),
    );
    this.fillReactions(li.querySelector('.msg-reactions'), m);
    const fac = this.amFac();
    const canPark = fac || st.info.members_can_park;
    if (fac || canPark) {
      const btns = [];
      if (fac) {
        for (const tag of ['consensus', 'takeaway', 'action']) {
          btns.push(h('button', { type: 'button', class: 'small', testid: `msg-highlight-${tag}`, onclick: () => this.send({ type: 'highlight', tag, message_id: m.id }) }, `Highlight as ${TAG_LABEL[tag].toLowerCase()}`));
        }
      }
      if (canPark) btns.push(h('button', { type: 'button', class: 'small', testid: 'msg-park', onclick: () => this.send({ type: 'park', message_id: m.id }) }, 'Move to parking lot'));
      if (fac) btns.push(h('button', { type: 'button', class: 'small danger', testid: 'msg-delete', onclick: () => this.send({ type: 'delete_message', message_id: m.id }) }, 'Delete message'));
      li.append(h('details', { class: 'msg-more', testid: 'message-more' },
        h('summary', { 'aria-label': `More actions for the message from ${m.name}` }, '⋯'),
        h('div', { class: 'action-list' }, btns)));
    }
    return li;
  }

  fillReactions(host, m) {
    const st = this.state;
    const reactions = m.reactions || {};
    const emojis = REACTIONS.map(([e]) => e);
    for (const e of Object.keys(reactions)) if (!emojis.includes(e)) emojis.push(e);
    const nodes = emojis.map((e) => {
      const who = reactions[e] || [];
      const on = who.includes(st.me.member_id);
      const label = (REACTIONS.find(([x]) => x === e) || [e, e])[1];
      return h('button', {
        type: 'button', class: `react${on ? ' on' : ''}${who.length ? ' used' : ''}`, testid: 'react',
        dataset: { emoji: e, focusKey: `r:${m.id}:${e}` }, 'aria-pressed': String(on),
        'aria-label': `React ${label}${who.length ? ` (${who.length})` : ''}`,
        onclick: () => this.send({ type: 'react', message_id: m.id, emoji: e }),
      }, e, who.length ? h('span', { class: 'react-count' }, String(who.length)) : null);
    });
    replaceChildren(host, nodes);
  }

  updateReactions(id) {
    const m = this.state.messages.find((x) => x.id === id);
    const li = T('message-list').querySelector(`[data-key="m:${CSS.escape(id)}"]`);
    if (m && li) this.fillReactions(li.querySelector('.msg-reactions'), m);
  }

  // ----- timers and clocks

  renderTimers() {
    const st = this.state;
    const fac = this.amFac();
    show(T('timers-panel'), st.timers.length > 0);
    replaceChildren(T('timers-list'), st.timers.map((t) => {
      const running = t.state === 'running';
      const rem = h('span', { class: 'timer-remaining', testid: 'timer-remaining', 'aria-live': 'off' });
      if (running && t.deadline) {
        rem.dataset.deadline = String(t.deadline);
        rem.dataset.max = String(t.duration_ms);
      }
      else rem.textContent = formatDuration(t.remaining_ms || 0);
      const li = h('li', { class: `timer ${t.state}`, testid: 'timer', dataset: { timerId: t.id } },
        h('span', { class: 'timer-name', testid: 'timer-name' }, t.name),
        rem,
        t.state === 'paused' ? h('span', { class: 'badge' }, 'paused') : null);
      if (fac) {
        const k = (a) => ({ focusKey: `${a}:${t.id}` });
        li.append(h('span', { class: 'timer-actions' },
          running
            ? h('button', { type: 'button', class: 'small', testid: 'timer-pause', dataset: k('pr'), onclick: () => this.send({ type: 'timer_pause', timer_id: t.id }) }, 'Pause')
            : h('button', { type: 'button', class: 'small', testid: 'timer-resume', dataset: k('pr'), onclick: () => this.send({ type: 'timer_resume', timer_id: t.id }) }, 'Resume'),
          h('button', { type: 'button', class: 'small', testid: 'timer-extend', dataset: k('ex'), onclick: () => this.send({ type: 'timer_extend', timer_id: t.id, secs: 60 }) }, '+1 min'),
          h('button', { type: 'button', class: 'small', testid: 'timer-cancel', dataset: k('ca'), onclick: () => this.send({ type: 'timer_cancel', timer_id: t.id }) }, 'Cancel')));
      }
      return li;
    }));
    this.tick();
  }

  tick() {
    const now = this.serverNow();
    for (const el of document.querySelectorAll('[data-deadline]')) {
      let left = Number(el.dataset.deadline) - now;
      if (el.dataset.max) left = Math.min(left, Number(el.dataset.max)); // clock skew never shows more than the length
      const text = formatDuration(left);
      if (el.textContent !== text) el.textContent = text;
    }
    const clock = T('session-clock');
    const st = this.state;
    if (st && st.info.ends_at && st.info.status !== 'closed' && this.phase !== 'removed') {
      const left = st.info.ends_at - now;
      const text = left > 0 ? `Time left ${formatDuration(left)}` : 'Ending…';
      if (clock.textContent !== text) clock.textContent = text;
      clock.hidden = false;
      clock.classList.toggle('soon', left <= 5 * 60000);
      // The 5- and 1-minute warnings, from the clock too (a late joiner never saw the event).
      const level = left <= 0 ? this.warnLevel : left <= 60000 ? 1 : left <= 5 * 60000 ? 5 : 0;
      if (level !== this.warnLevel) {
        this.warnLevel = level;
        if (level) this.showWarning(level);
        else clearBanner('warning');
      }
    } else if (st && st.info.status === 'closed') {
      clock.textContent = 'Ended';
      clock.hidden = false;
    } else {
      clock.hidden = true;
    }
  }

  // ----- energizer

  renderEnergizer() {
    const st = this.state;
    const run = st.energizer;
    const card = T('energizer-card');
    card.hidden = !run;
    if (!run) return;
    if (card.dataset.runId !== run.id) {
      card.dataset.runId = run.id;
      T('energizer-answer-input').value = '';
    }
    T('energizer-title').textContent = run.title;
    T('energizer-prompt').textContent = run.prompt;
    T('energizer-state').textContent = run.open ? '' : '(closed)';
    const mine = run.answers.find((a) => a.member_id === st.me.member_id);
    T('energizer-answer-submit').textContent = mine ? 'Change answer' : 'Answer';
    show(T('energizer-answer-form'), run.open && this.phase === 'in');
    show(T('energizer-close'), run.open && this.amFac() && this.phase === 'in');
    replaceChildren(T('energizer-answers'), run.answers.map((a) => h('li', { testid: 'energizer-answer', dataset: { memberId: a.member_id } },
      h('span', { class: 'answer-name' }, a.name), ': ', h('span', { class: 'answer-text', testid: 'energizer-answer-text' }, a.text))));
  }

  // ----- highlights

  renderHighlights() {
    const st = this.state;
    const fac = this.amFac();
    const active = this.phase === 'in';
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
            onclick: () => this.send({ type: agreed ? 'unagree' : 'agree', highlight_id: hl.id }),
          }, agreed ? '✓ +1' : '+1') : null));
      if (fac && active) {
        if (this.editingHighlight === hl.id) {
          const sel = h('select', { 'aria-label': 'Kind', testid: 'highlight-edit-tag' },
            Object.entries(TAG_LABEL).map(([v, l]) => h('option', { value: v, selected: v === hl.tag }, l)));
          const ta = h('textarea', { 'aria-label': 'Highlight text', testid: 'highlight-edit-text', rows: '2', maxlength: '500', value: hl.text });
          li.append(h('div', { class: 'highlight-edit' }, sel, ta,
            h('div', { class: 'row-buttons' },
              h('button', { type: 'button', class: 'small primary', testid: 'highlight-edit-save', onclick: () => {
                this.editingHighlight = null;
                this.send({ type: 'edit_highlight', highlight_id: hl.id, tag: sel.value, text: ta.value.trim() || undefined });
                this.renderHighlights();
              } }, 'Save'),
              h('button', { type: 'button', class: 'small', onclick: () => { this.editingHighlight = null; this.renderHighlights(); } }, 'Cancel'))));
        } else {
          li.append(h('div', { class: 'row-buttons' },
            h('button', { type: 'button', class: 'small', testid: 'highlight-edit', dataset: { focusKey: 'he:' + hl.id }, onclick: () => { this.editingHighlight = hl.id; this.renderHighlights(); } }, 'Edit'),
            h('button', { type: 'button', class: 'small danger', testid: 'highlight-remove', dataset: { focusKey: 'hr:' + hl.id }, onclick: () => this.send({ type: 'remove_highlight', highlight_id: hl.id }) }, 'Remove')));
        }
      }
      return li;
    });
    replaceChildren(T('highlights-list'), items.length ? items : [h('li', { class: 'muted small' }, 'Points of consensus and key takeaways will appear here.')]);
  }

  // ----- energy check

  renderEnergy() {
    const st = this.state;
    const c = st.energyCheck;
    const body = [];
    if (!c) {
      body.push(h('p', { class: 'muted small' }, 'No energy check right now.'));
    } else {
      const answered = st.myEnergy && st.myEnergy.check_id === c.id;
      if (c.open && this.phase === 'in') {
        if (answered) {
          body.push(h('p', { testid: 'energy-mine' }, `You answered ${st.myEnergy.level}. Thank you.`));
        } else {
          body.push(h('p', null, 'How is your energy right now? (anonymous)'));
          body.push(h('div', { class: 'energy-buttons', role: 'group', 'aria-label': 'Energy level' },
            [1, 2, 3, 4, 5].map((n) => h('button', {
              type: 'button', testid: `energy-${n}`, 'aria-label': ENERGY_LABEL[n - 1], title: ENERGY_LABEL[n - 1], dataset: { focusKey: 'en:' + n },
              onclick: () => this.send({ type: 'energy_answer', check_id: c.id, level: n }),
            }, String(n)))));
        }
      } else if (!c.open) {
        body.push(h('p', { class: 'muted small' }, 'This check is closed.'));
      }
      body.push(energyAggregate(c));
    }
    replaceChildren(T('energy-body'), body);
  }

  // ----- waiting room, support inbox, parking lot

  renderWaiting() {
    const st = this.state;
    T('waiting-count').textContent = st.waiting.length ? `(${st.waiting.length})` : '';
    replaceChildren(T('waiting-list'), st.waiting.length
      ? st.waiting.map((w) => h('li', { testid: 'waiting-item', dataset: { memberId: w.member_id } },
        h('span', { class: 'waiting-name', testid: 'waiting-name' }, w.name),
        h('button', { type: 'button', class: 'small primary', testid: 'waiting-admit', dataset: { focusKey: 'wa:' + w.member_id }, onclick: () => this.send({ type: 'admit', member_id: w.member_id }) }, 'Admit'),
        h('button', { type: 'button', class: 'small', testid: 'waiting-decline', dataset: { focusKey: 'wd:' + w.member_id }, onclick: () => this.send({ type: 'decline', member_id: w.member_id }) }, 'Decline')))
      : [h('li', { class: 'muted small' }, 'Nobody is waiting.')]);
  }

  renderSupport() {
    const st = this.state;
    if (!this.amFac()) {
      replaceChildren(T('support-inbox'), []);
      return;
    }
    const reqs = st.support.filter((r) => r.member_id !== st.me.member_id)
      .sort((a, b) => (Number(b.urgent) - Number(a.urgent)) || (a.ts - b.ts));
    T('support-count').textContent = reqs.length ? `(${reqs.length})` : '';
    replaceChildren(T('support-inbox'), reqs.length ? reqs.map((r) => {
      const mine = st.oneOnOne.find((o) => o.request_id === r.id && o.facilitator_key);
      return h('li', { class: `support-item${r.urgent ? ' urgent' : ''}`, testid: 'support-item', dataset: { urgent: String(r.urgent), requestId: r.id } },
        r.urgent ? h('span', { class: 'badge urgent', testid: 'support-urgent' }, 'URGENT — distress') : h('span', { class: 'badge' }, 'Support'),
        h('strong', { class: 'support-name' }, r.name),
        h('time', { class: 'muted small' }, ` ${formatClock(r.ts)}`),
        r.note ? h('p', { class: 'support-note', testid: 'support-item-note' }, r.note) : null,
        r.room_id
          ? (mine
            ? h('a', { class: 'button small', href: `${mine.link}#key=${encodeURIComponent(mine.facilitator_key)}&name=${encodeURIComponent(this.name || 'Facilitator')}`, target: '_blank', rel: 'noopener', testid: 'support-1on1-link' }, 'Open the one-on-one room')
            : h('span', { class: 'muted small' }, 'One-on-one room opened.'))
          : h('button', { type: 'button', class: 'small primary', testid: 'support-open-1on1', dataset: { focusKey: 's1:' + r.id }, onclick: () => this.send({ type: 'open_one_on_one', request_id: r.id }) }, 'Open one-on-one'));
    }) : [h('li', { class: 'muted small' }, 'No requests.')]);
  }

  renderParking() {
    const st = this.state;
    const fac = this.amFac() && this.phase === 'in';
    replaceChildren(T('parking-list'), st.parking.length ? st.parking.map((p) => h('li', { testid: 'parking-item', dataset: { itemId: p.id } },
      h('span', { class: 'parking-text' }, p.text),
      fac ? h('button', { type: 'button', class: 'small', testid: 'parking-unpark', dataset: { focusKey: 'up:' + p.id }, onclick: () => this.send({ type: 'unpark', item_id: p.id }) }, 'Unpark') : null))
      : [h('li', { class: 'muted small' }, 'Off-topic points, saved for later.')]);
    this.renderParkingForm();
  }

  renderParkingForm() {
    const st = this.state;
    show(T('parking-form'), this.phase === 'in' && (this.amFac() || st.info.members_can_park));
  }

  // ----- summary

  renderSummary() {
    const s = this.state.summary;
    const panel = T('summary-panel');
    panel.hidden = !s;
    if (!s) return;
    const hls = s.highlights.map((hl) => h('li', { testid: 'summary-highlight' },
      h('span', { class: 'badge tag' }, TAG_LABEL[hl.tag] || hl.tag), ' ', h('span', { testid: 'summary-highlight-text' }, hl.text),
      h('span', { class: 'muted small', testid: 'summary-highlight-count' }, ` — ${hl.agreed.length} agree`)));
    replaceChildren(T('summary-highlights'), hls.length ? hls : [h('li', { class: 'muted small' }, 'None.')]);
    replaceChildren(T('summary-energy'), s.energy_checks.length ? s.energy_checks.map((c) => h('li', { testid: 'summary-energy-item' }, energyAggregate(c))) : [h('li', { class: 'muted small' }, 'None.')]);
    replaceChildren(T('summary-energizers'), s.energizers.length ? s.energizers.map((e) => h('li', { testid: 'summary-energizer' }, e)) : [h('li', { class: 'muted small' }, 'None.')]);
    replaceChildren(T('summary-parking'), s.parking_lot.length ? s.parking_lot.map((p) => h('li', { testid: 'summary-parking-item' }, p.text)) : [h('li', { class: 'muted small' }, 'Empty.')]);
    for (const el of document.querySelectorAll('.fac-key-only')) el.hidden = !this.key;
  }

  async downloadSummary() {
    try {
      const r = await fetch(`/api/rooms/${encodeURIComponent(this.roomId)}/summary.md`, { headers: { 'X-Facilitator-Key': this.key || '' } });
      if (!r.ok) {
        let msg = 'The summary is not available.';
        try { msg = (await r.json()).message || msg; } catch { /* not JSON */ }
        toast(msg, { kind: 'error' });
        return;
      }
      const blob = await r.blob();
      const url = URL.createObjectURL(blob);
      const a = h('a', { href: url, download: `huddle-summary-${this.roomId}.md`, hidden: true });
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 5000);
    } catch {
      toast('Could not download the summary. Please try again.', { kind: 'error' });
    }
  }

  // ----- rules

  renderRulesList() {
    const st = this.state;
    replaceChildren(T('rules-list'), st.rules.rules.map((r) => h('li', { testid: 'rule' }, r)));
    const ed = T('rules-editor');
    if (document.activeElement !== ed) ed.value = st.rules.rules.join('\n');
  }

  openRules(why) {
    const st = this.state;
    if (!st || this.phase !== 'in') return;
    this.renderRulesList();
    const must = needsRules(st);
    T('rules-intro').textContent = why === 'updated'
      ? 'The ground rules changed. Please read them and accept them again to keep posting.'
      : why === 'shown'
        ? 'The facilitator asks everyone to look at the ground rules again.'
        : must ? 'Please read these and accept them before you post.' : 'These are the ground rules for this session.';
    show(T('rules-accept'), must);
    T('rules-close').textContent = must ? 'Read later' : 'Close';
    const d = T('rules-dialog');
    if (!d.open) d.showModal();
    (must ? T('rules-accept') : T('rules-close')).focus();
  }

  // ------------------------------------------------------------ controls

  wire() {
    if (this.wired) return;
    this.wired = true;
    const on = (id, ev, fn) => T(id).addEventListener(ev, fn);

    // Chat composer: Enter sends, Shift+Enter is a new line.
    on('chat-form', 'submit', (e) => {
      e.preventDefault();
      const input = T('chat-input');
      const text = input.value.trim();
      if (!text || input.disabled) return;
      if (this.send({ type: 'chat', text })) {
        this.lastChat = text;
        input.value = '';
      }
    });
    on('chat-input', 'keydown', (e) => {
      if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
        e.preventDefault();
        T('chat-form').requestSubmit();
      }
    });

    // Rules dialog.
    on('rules-accept', 'click', () => {
      this.send({ type: 'accept_rules', version: this.state.rules.version });
      // Optimistic: the member_updated event confirms it.
      const me = myMember(this.state);
      if (me) me.accepted_rules = this.state.rules.version;
      T('rules-dialog').close();
      this.renderMe();
      T('chat-input').focus();
    });
    on('rules-close', 'click', () => T('rules-dialog').close());
    on('rules-open', 'click', () => this.openRules('join'));

    // Personal tools.
    on('raise-hand', 'click', () => {
      const raised = this.state.hands.includes(this.state.me.member_id);
      this.send(raised ? { type: 'lower_hand' } : { type: 'raise_hand' });
    });
    on('support-open', 'click', () => {
      const f = T('support-form');
      f.hidden = !f.hidden;
      T('support-open').setAttribute('aria-expanded', String(!f.hidden));
      if (!f.hidden) T('support-note').focus();
    });
    on('support-cancel', 'click', () => {
      T('support-form').hidden = true;
      T('support-open').setAttribute('aria-expanded', 'false');
    });
    on('support-form', 'submit', (e) => {
      e.preventDefault();
      const note = T('support-note').value.trim();
      if (this.send(note ? { type: 'support_request', note } : { type: 'support_request' })) {
        T('support-note').value = '';
        T('support-form').hidden = true;
        T('support-open').setAttribute('aria-expanded', 'false');
        const el = T('support-sent');
        el.textContent = 'Sending your request privately…';
        el.hidden = false;
      }
    });
    on('distress-button', 'click', () => {
      // Help first, from what we already have; the server's reply refreshes it.
      openCrisis(false);
      if (this.phase === 'in' && this.send({ type: 'distress' })) {
        this.distressPending = true;
        show(T('crisis-alerted'), true);
      }
    });
    on('leave-button', 'click', () => this.leave());
    on('status-leave', 'click', () => this.leave());

    on('energizer-answer-form', 'submit', (e) => {
      e.preventDefault();
      const run = this.state.energizer;
      const text = T('energizer-answer-input').value.trim();
      if (!run || !text) return;
      this.send({ type: 'answer_energizer', run_id: run.id, text });
    });
    on('energizer-close', 'click', () => {
      const run = this.state.energizer;
      if (run) this.send({ type: 'close_energizer', run_id: run.id });
    });

    on('parking-form', 'submit', (e) => {
      e.preventDefault();
      const text = T('parking-input').value.trim();
      if (text && this.send({ type: 'park', text })) T('parking-input').value = '';
    });
    on('summary-download', 'click', () => this.downloadSummary());

    // Facilitator tools.
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
    on('waiting-toggle', 'change', (e) => this.send({ type: 'set_waiting_room', enabled: e.target.checked }));
    on('lock-toggle', 'change', (e) => this.send({ type: 'lock', locked: e.target.checked }));
    on('parking-toggle', 'change', (e) => this.send({ type: 'allow_parking', enabled: e.target.checked }));
    on('slowmode-apply', 'click', () => this.send({ type: 'slow_mode', secs: Number(T('slowmode-select').value) || 0 }));
    on('rules-save', 'click', () => {
      const rules = T('rules-editor').value.split('\n').map((s) => s.trim()).filter(Boolean);
      if (!rules.length) return toast('Write at least one rule.', { kind: 'error' });
      if (this.send({ type: 'set_ground_rules', rules })) toast('Ground rules saved. Everyone will be asked to accept them.');
    });
    on('rules-show', 'click', () => this.send({ type: 'show_ground_rules' }));
    on('welcome-save', 'click', () => {
      const text = T('welcome-input').value.trim();
      if (this.send(text ? { type: 'set_welcome', text } : { type: 'set_welcome', text: null })) toast('Welcome message saved.');
    });
    on('pin-save', 'click', () => {
      const text = T('pin-input').value.trim();
      this.send({ type: 'pin', text: text || null });
    });
    on('pin-clear', 'click', () => {
      T('pin-input').value = '';
      this.send({ type: 'pin', text: null });
    });
    on('timer-form', 'submit', (e) => {
      e.preventDefault();
      const name = T('timer-name').value.trim() || 'Timer';
      const mins = Number(T('timer-minutes').value);
      if (!(mins > 0)) return toast('Give the timer a length in minutes.', { kind: 'error' });
      this.send({ type: 'timer_start', name, duration_secs: Math.max(1, Math.round(mins * 60)) });
    });
    on('energizer-load', 'click', () => this.send({ type: 'list_energizers' }));
    on('energizer-select', 'change', () => this.previewEnergizer());
    on('energizer-push', 'click', () => {
      const id = T('energizer-select').value;
      const custom = T('energizer-custom').value.trim();
      const mins = Number(T('energizer-duration').value);
      const msg = { type: 'push_energizer' };
      if (id) msg.energizer_id = id;
      else if (custom) msg.prompt = custom;
      else return toast('Pick an energizer or write a prompt.', { kind: 'error' });
      if (mins > 0) msg.duration_secs = Math.max(1, Math.round(mins * 60));
      if (this.send(msg) && !id) T('energizer-custom').value = '';
    });
    on('takeaway-form', 'submit', (e) => {
      e.preventDefault();
      const text = T('takeaway-text').value.trim();
      if (!text) return;
      if (this.send({ type: 'highlight', tag: T('takeaway-tag').value, text })) T('takeaway-text').value = '';
    });
    on('energy-open', 'click', () => this.send({ type: 'open_energy_check' }));
    on('energy-close', 'click', () => {
      const c = this.state.energyCheck;
      if (c && c.open) this.send({ type: 'close_energy_check', check_id: c.id });
      else toast('There is no open energy check.');
    });
    on('airtime-refresh', 'click', () => this.send({ type: 'airtime' }));
    on('extend-5', 'click', () => this.send({ type: 'extend_session', minutes: 5 }));
    on('extend-15', 'click', () => this.send({ type: 'extend_session', minutes: 15 }));
    const confirmEnd = (on2) => {
      show(T('end-session'), !on2);
      show(T('end-session-confirm'), on2);
      show(T('end-session-cancel'), on2);
      (on2 ? T('end-session-confirm') : T('end-session')).focus();
    };
    on('end-session', 'click', () => confirmEnd(true));
    on('end-session-cancel', 'click', () => confirmEnd(false));
    on('end-session-confirm', 'click', () => {
      this.send({ type: 'end_session' });
      show(T('end-session'), true);
      show(T('end-session-confirm'), false);
      show(T('end-session-cancel'), false);
    });
  }

  leave() {
    this.send({ type: 'leave' });
    store.forget(this.roomId);
    this.stopFor('left');
    this.showStatus('You left the session', 'Thank you for being here. Take care of yourself.', { home: true });
  }
}

function energyAggregate(c) {
  const total = c.count;
  const sum = c.distribution.reduce((acc, n, i) => acc + n * (i + 1), 0);
  const avg = total ? (sum / total).toFixed(1) : '–';
  return h('div', { class: 'energy-aggregate', testid: 'energy-aggregate', dataset: { count: String(total), checkId: c.id } },
    h('p', { class: 'energy-count', testid: 'energy-count' }, `${total} ${total === 1 ? 'answer' : 'answers'}${total ? ` · average ${avg}` : ''}`),
    h('ul', { class: 'energy-dist' }, c.distribution.map((n, i) => h('li', null,
      h('span', { class: 'lvl' }, String(i + 1)),
      h('meter', { min: '0', max: String(Math.max(total, 1)), value: String(n), 'aria-label': `Level ${i + 1}: ${n}` }),
      h('span', { class: 'n' }, String(n))))));
}
