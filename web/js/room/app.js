// The room: wiring only. It creates the state and the connection, mounts the views and the
// controls, and dispatches server frames into the reducer. New features add files, not
// branches in one class:
//
//   js/state.js          the reducer: snapshot + events → state, dirty panels, effects (no DOM)
//   room/app.js          this file: life of the page, frames → reducer → PANELS / effects
//   room/lifecycle.js    error frames, join refusals, removal, close codes, connection status
//   room/effects.js      reducer effects → toasts, banners, dialogs, incremental messages
//   room/render/*.js     pure views of state, one file per panel: render<Panel>(app), reading
//                        app.state / app.phase; their buttons call controls
//   room/controls/*.js   user actions → protocol frames, one file per topic (mirroring render/);
//                        controls/index.js wires the static controls of index.html once
//   room/labels.js       labels shown by several panels
//
// A new panel: render/<topic>.js + one line in PANELS (and its name from state.js's dirty set).
// A new action: controls/<topic>.js (+ a line in controls/index.js if it has a static control).

import { byTestId as T, formatDateTime } from '../dom.js';
import { Connection } from '../conn.js';
import { store } from '../store.js';
import { fromSnapshot, applyEvent, applyHistory, applyRosterPage, isFac, needsRules } from '../state.js';
import { showView, setBanner, clearBanner, toast, openCrisis, setCrisisResources } from '../ui.js';
import { applyEffect } from './effects.js';
import { onError, onClose, onConnStatus, retryJoin } from './lifecycle.js';
import { wireControls } from './controls/index.js';
import { listEnergizers } from './controls/energizer.js';
import { showStatus } from './render/status.js';
import { showNotice } from './render/notices.js';
import { renderInfo } from './render/info.js';
import { renderMe } from './render/me.js';
import { renderRoster } from './render/roster.js';
import { renderHands } from './render/hands.js';
import { syncMessages, rebuildMessages } from './render/messages.js';
import { renderTimers } from './render/timers.js';
import { tick } from './render/clock.js';
import { renderEnergizer, renderEnergizerLibrary } from './render/energizer.js';
import { renderHighlights } from './render/highlights.js';
import { renderEnergy } from './render/energy.js';
import { renderWaiting } from './render/waiting.js';
import { renderSupport } from './render/support.js';
import { renderParking } from './render/parking.js';
import { renderSummary } from './render/summary.js';
import { renderWrapUp } from './render/wrapup.js';
import { renderRulesList, openRules } from './render/rules.js';
import { renderAirtime } from './render/airtime.js';
import { showHistory } from './render/history.js';
import { renderLead, showNewKey } from './render/lead.js';
import { CallManager } from './call/call.js';
import { wireCallKeys } from './call/view.js';

const PROTOCOL_VERSION = 1;

/** The panels, in drawing order, by the names state.js marks dirty. 'me' is drawn last. */
const PANELS = [
  ['info', renderInfo],
  ['roster', renderRoster],
  ['lead', renderLead],
  ['hands', renderHands],
  ['messages', (app) => syncMessages(app, false)],
  ['timers', renderTimers],
  ['energizer', renderEnergizer],
  ['highlights', renderHighlights],
  ['energy', renderEnergy],
  ['waiting', renderWaiting],
  ['support', renderSupport],
  ['parking', renderParking],
  ['summary', renderSummary],
  ['wrapup', renderWrapUp],
  ['rules', renderRulesList],
];
const DRAW = new Map([...PANELS, ['me', renderMe]]);
const ALL = new Set(DRAW.keys());

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
    this.pendingChats = []; // texts of chat frames sent and not yet posted or refused (controls/chat.js)
    this.distressPending = false;
    this.warnLevel = 0; // 5 or 1 once that session warning was shown
    this.energizerLib = null; // the facilitator's energizer library, once listed
    this.historyPending = false; // a history_before sent and not yet answered (controls/history.js)
    this.confirmRotate = false; // the lead is confirming a key rotation (controls/lead.js)
    this.saveTimer = null;
    this.wired = false;
    this.call = new CallManager(this); // the room's call on this page (call/*.js)

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
      showStatus('Connecting…', 'Joining the session.');
    }
    this.conn = new Connection({
      joinFrame: () => this.joinFrame(),
      onFrame: (m) => this.onFrame(m),
      onStatus: (s, info) => onConnStatus(this, s, info),
      onClose: (code, reason) => onClose(this, code, reason),
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
    this.tickTimer = setInterval(() => tick(this), 250);
    window.addEventListener('pagehide', () => this.saveNow());
    window.__huddle = {
      dropSocket: (holdMs = 0) => this.conn && this.conn.drop(holdMs),
      state: () => this.state,
      phase: () => this.phase,
      serverNow: () => this.serverNow(),
      isOpen: () => !!(this.conn && this.conn.isOpen()),
      callStats: () => this.call.stats(),
    };
  }

  wire() {
    if (this.wired) return;
    this.wired = true;
    wireControls(this);
    wireCallKeys(this.call);
  }

  /** Join again on a new connection (after a refused name, with this.name changed). */
  rejoin() {
    retryJoin(this);
  }

  serverNow() {
    return Date.now() + this.offset;
  }

  joinFrame() {
    const f = { type: 'join', v: PROTOCOL_VERSION, room_id: this.roomId, name: this.name || 'Guest' };
    if (this.key) f.facilitator_key = this.key;
    // Keeps a removed member out of this room on a plain rejoin from this browser.
    const device = store.deviceId();
    if (device) f.device_id = device;
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

  /** Send a frame; false (and a toast) while offline. Every control goes through here. */
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
    // Only while in the room (a reload resumes from it); never after the tab is done with it.
    if (this.state && this.phase === 'in') store.setState(this.roomId, this.state);
  }

  /**
   * The tab is done with this room (left, removed, declined, ended, gone): nothing of it stays
   * in storage, neither the conversation nor the key, name and resume token (issue 22 G). What
   * is on screen stays until the page is left.
   */
  forgetRoom() {
    clearTimeout(this.saveTimer);
    this.saveTimer = null;
    store.clear(this.roomId);
  }

  stopFor(phase) {
    this.phase = phase;
    if (this.conn) this.conn.stop();
    clearBanner('reconnecting');
    const rules = T('rules-dialog');
    if (rules.open) rules.close();
    renderMe(this);
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
      case 'energizers':
        this.energizerLib = m.energizers || [];
        return renderEnergizerLibrary(this);
      case 'airtime': return renderAirtime(m.members || []);
      case 'history': return this.onHistory(m);
      case 'roster_page': return this.onRosterPage(m);
      case 'facilitator_key': return this.onFacilitatorKey(m);
      case 'crisis': {
        setCrisisResources(m.resources);
        if (this.state) this.state.crisis = m.resources;
        if (this.distressPending) {
          this.distressPending = false;
          // Kept as found in the old room.js (a stray line?): it lets the clock show a dismissed
          // session warning again after a distress alert. Not changed by the split.
          this.warnLevel = 0;
          openCrisis(true);
        }
        return;
      }
      case 'pong': return;
      case 'notice': return showNotice(m);
      case 'call_config': return this.call.onConfig(m);
      case 'signal': return this.call.onSignal(m);
      case 'error':
        if (m.refused === 'join_call' || m.refused === 'media_state') this.call.onRefused(m.code);
        return onError(this, m);
      default: return;
    }
  }

  onWelcome(m) {
    const hadState = !!this.state && this.phase !== 'waiting' && this.phase !== 'lobby';
    this.state = fromSnapshot(m.room, m.you);
    this.pendingChats = []; // a new connection: nothing in flight (unposted text is still in the box)
    this.historyPending = false; // an unanswered page request went with the old connection
    this.rosterPending = false;
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
    rebuildMessages(this);
    this.call.onSnapshot(m.room);
    this.renderAll();
    showView('room');
    if (needsRules(this.state) && this.phase === 'in') openRules(this, 'join');
    if (isFac(this.state.me.role) && !this.energizerLib) listEnergizers(this);
    this.saveNow();
  }

  onResumed(m) {
    this.pendingChats = []; // a new connection: nothing in flight (unposted text is still in the box)
    this.rosterPending = false; // a roster_page request went with the old connection
    if (this.historyPending) {
      // The page request went with the old connection: the button works again.
      this.historyPending = false;
      this.redraw('messages');
    }
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
    renderMe(this);
    this.call.onResumed();
    this.saveNow();
  }

  onLobby(m) {
    this.phase = 'lobby';
    this.conn.joined();
    this.lobbyStartsAt = m.starts_at;
    showStatus('The session has not started yet', `It opens at ${formatDateTime(m.starts_at)}. Stay on this page: you will be let in automatically.`, { countdownTo: m.starts_at, leave: true });
  }

  onWaiting() {
    this.phase = 'waiting';
    this.conn.joined();
    showStatus('You are in the waiting room', 'A facilitator will let you in shortly. Thank you for your patience.', { leave: true });
  }

  onEvent(m) {
    if (!this.state) return; // not in the room (yet)
    if (typeof m.seq !== 'number' || m.seq <= this.state.seq) return; // already applied
    this.state.seq = m.seq;
    const ev = m.event || {};
    const { dirty, effects } = applyEvent(this.state, m.seq, ev);
    for (const e of effects) applyEffect(this, e);
    this.call.onEvent(ev);
    this.renderDirty(dirty);
    this.saveSoon();
  }

  /**
   * A page of earlier messages (the reply to history_before, or what a newcomer may read once
   * they accept the ground rules in a room that shares it): merged by seq, never an event.
   */
  onHistory(m) {
    if (!this.state) return;
    const asked = this.historyPending;
    this.historyPending = false;
    const { effects } = applyHistory(this.state, m);
    showHistory(this, effects[0].added, asked);
    this.saveSoon();
  }

  /** A page of a big room's roster (the reply to roster_page): merged by id, never an event. */
  onRosterPage(m) {
    if (!this.state) return;
    this.rosterPending = false;
    this.renderDirty(applyRosterPage(this.state, m).dirty);
  }

  /** The new facilitator key, to the lead alone, once: it replaces the one this tab keeps. */
  onFacilitatorKey(m) {
    if (typeof m.facilitator_key !== 'string' || !m.facilitator_key) return;
    this.key = m.facilitator_key;
    store.setKey(this.roomId, this.key);
    this.redraw('info'); // the facilitator link in the settings
    this.redraw('me'); // .fac-key-only
    showNewKey(this);
  }

  // ------------------------------------------------------------ rendering

  renderAll() {
    if (!this.state) return;
    this.renderDirty(ALL);
    this.call.render();
  }

  renderDirty(d) {
    if (!this.state) return;
    for (const [panel, draw] of PANELS) if (d.has(panel)) draw(this);
    if (d.has('me') || d.has('info') || d.has('roster')) renderMe(this);
  }

  /** Redraw one panel (after a change of view state only: a menu, an edit, a confirmation). */
  redraw(panel) {
    DRAW.get(panel)(this);
  }

  amFac() {
    return !!this.state && isFac(this.state.me.role) && !['removed', 'left'].includes(this.phase);
  }
}
