// The room's call on this page: who is in it (app.state.call, kept from the snapshot and the
// call events, so a reload knows it), my microphone and camera, and one Peer per other member.
// Signals come and go through the room's WebSocket (protocol "Calls"); media goes directly
// between browsers. Mic and camera stay off until I turn them on.

import { Peer } from './peer.js';
import { renderCall } from './view.js';
import { toast } from '../../ui.js';

const SPEAKING_EVERY_MS = 1000; // at most one speaking change told per second
const SPEAKING_LEVEL = 0.02;

export class CallManager {
  constructor(app) {
    this.app = app;
    this.inCall = false; // I joined the call on this page
    this.iceServers = null; // from call_config
    this.peers = new Map(); // member id → Peer
    this.streams = new Map(); // member id → remote MediaStream
    this.quality = new Map(); // member id → 'good' | 'poor' | 'connecting'
    this.videoEls = new Map(); // member id ('' for me) → its <video>, kept across redraws
    this.audio = null; // my mic track
    this.video = null; // my camera track
    this.speaking = false;
    this.lastSpeakingSent = 0;
    this.meter = null;
    this.localMuted = new Set(); // members I muted for myself only (this page)
    this.relayOnly = new URLSearchParams(location.search).get('relay') === '1';
    this.preview = null; // my camera before joining (a local check; joining keeps it on)
    this.audioOnly = false; // I neither send nor receive video
    this.micId = ''; // chosen devices ('' = the browser's default)
    this.camId = '';
    this.devices = { audio: [], video: [] }; // from enumerateDevices (ids are known once allowed)
    if (navigator.mediaDevices && navigator.mediaDevices.addEventListener) {
      navigator.mediaDevices.addEventListener('devicechange', () => this.refreshDevices());
    }
    this.qualityTimer = null;
    this.turnRefused = false; // a TURN server answered 401 to our credentials
    this.turnProblemTold = false;
  }

  // ------------------------------------------------------------ from the server

  /** A welcome: the call as the snapshot has it. */
  onSnapshot(room) {
    const s = this.app.state;
    s.call = Array.isArray(room.call) ? room.call : [];
    s.floor = room.floor || null;
    // A fresh snapshot while I think I am in the call (new connection): start afresh.
    if (this.inCall && s.call.some((p) => p.member_id === this.me())) this.rejoin();
    else if (this.inCall) this.endLocal();
    else if (s.call.some((p) => p.member_id === this.me())) this.app.send({ type: 'leave_call' });
    this.render();
  }

  /** A resume: renegotiate with every peer (ICE restart); signals sent meanwhile are lost. */
  onResumed() {
    const s = this.app.state;
    if (!s) return;
    if (!s.call) s.call = [];
    const listed = s.call.some((p) => p.member_id === this.me());
    if (this.inCall) {
      for (const p of this.peers.values()) p.restartIce();
    } else if (listed) {
      // A reload: the server still has me in the call, this page has no media.
      this.app.send({ type: 'leave_call' });
    }
  }

  onConfig(m) {
    if (!this.inCall) return;
    this.iceServers = Array.isArray(m.ice_servers) ? m.ice_servers : [];
    for (const p of this.app.state.call) {
      if (p.member_id !== this.me() && !this.peers.has(p.member_id)) this.connect(p.member_id);
    }
    this.render();
  }

  onSignal(m) {
    if (!this.inCall || typeof m.from !== 'string') return;
    let peer = this.peers.get(m.from);
    if (!peer && this.iceServers && this.app.state.call.some((p) => p.member_id === m.from)) {
      peer = this.connect(m.from);
    }
    if (peer) peer.onSignal(m.data);
  }

  /** A room event (already applied to the rest of the state). */
  onEvent(ev) {
    const s = this.app.state;
    if (!s.call) s.call = [];
    switch (ev.kind) {
      case 'call_joined': {
        s.call = s.call.filter((p) => p.member_id !== ev.member_id);
        s.call.push({ member_id: ev.member_id, media: ev.media });
        if (ev.member_id !== this.me() && this.inCall && this.iceServers) {
          // Joined (again): start afresh with them.
          this.disconnect(ev.member_id);
          this.connect(ev.member_id);
        }
        break;
      }
      case 'call_left': {
        s.call = s.call.filter((p) => p.member_id !== ev.member_id);
        if (ev.member_id === this.me()) {
          this.endLocal();
          if (ev.reason === 'call_off') toast('The facilitator ended the call.');
        } else {
          this.disconnect(ev.member_id);
        }
        break;
      }
      case 'media_state': {
        const p = s.call.find((x) => x.member_id === ev.member_id);
        if (p) p.media = ev.media;
        if (ev.member_id === this.me() && ev.by) this.obey(ev.media);
        break;
      }
      case 'floor':
        s.floor = ev.member_id || null;
        break;
      case 'room_updated':
      case 'personal_mutes':
      case 'member_updated':
      case 'member_left':
        break;
      default:
        return;
    }
    this.render();
  }

  // ------------------------------------------------------------ my actions

  join() {
    if (this.inCall) return;
    this.inCall = true;
    // A running preview means I turned my camera on: it stays on in the call.
    const camera = !!this.preview && this.app.state.info.call === 'video' && !this.audioOnly;
    if (camera) this.video = this.preview;
    else if (this.preview) this.preview.stop();
    this.preview = null;
    this.app.send({ type: 'join_call', mic: false, camera });
    this.startQuality();
    this.render();
  }

  leave() {
    if (!this.inCall) return;
    this.app.send({ type: 'leave_call' });
    this.endLocal();
  }

  /** Join again on a new connection: the others start afresh with me. */
  rejoin() {
    for (const id of [...this.peers.keys()]) this.disconnect(id);
    this.iceServers = null;
    this.app.send({ type: 'join_call', mic: !!this.audio, camera: !!this.video });
  }

  async toggleMic() {
    if (this.audio) {
      this.stopTrack('audio');
    } else {
      try {
        const s = await navigator.mediaDevices.getUserMedia({ audio: this.constraints('audio') });
        this.audio = s.getAudioTracks()[0] || null;
        this.startMeter();
        this.refreshDevices();
      } catch (e) {
        toast('Your microphone could not be turned on (check the browser’s permission).', { kind: 'error' });
        return;
      }
    }
    this.tracksChanged();
  }

  async toggleCamera() {
    if (this.video) {
      this.stopTrack('video');
    } else {
      if (this.app.state.info.call !== 'video') {
        toast('This call is audio only.', { kind: 'error' });
        return;
      }
      if (this.audioOnly) {
        toast('Audio only is on: turn it off to use your camera.', { kind: 'error' });
        return;
      }
      try {
        const s = await navigator.mediaDevices.getUserMedia({ video: this.constraints('video') });
        this.video = s.getVideoTracks()[0] || null;
        this.refreshDevices();
      } catch (e) {
        toast('Your camera could not be turned on (check the browser’s permission).', { kind: 'error' });
        return;
      }
    }
    this.tracksChanged();
  }

  /** Before joining: show my camera here only (nothing is sent). */
  async togglePreview() {
    if (this.preview) {
      this.preview.stop();
      this.preview = null;
    } else {
      try {
        const s = await navigator.mediaDevices.getUserMedia({ video: this.constraints('video') });
        this.preview = s.getVideoTracks()[0] || null;
        this.refreshDevices();
      } catch (e) {
        toast('Your camera could not be turned on (check the browser’s permission).', { kind: 'error' });
      }
    }
    this.render();
  }

  /**
   * Audio only for me: my camera goes off, and I stop receiving video (each peer connection's
   * video goes inactive, renegotiated); the others still hear me and I hear them.
   */
  toggleAudioOnly() {
    this.audioOnly = !this.audioOnly;
    if (this.audioOnly && this.preview) {
      this.preview.stop();
      this.preview = null;
    }
    if (this.audioOnly && this.video) {
      this.stopTrack('video');
      this.tracksChanged();
    } else {
      for (const p of this.peers.values()) p.attachTracks();
      this.render();
    }
  }

  /** Use another microphone or camera: a new track, swapped on every sender (no renegotiation). */
  async chooseDevice(kind, id) {
    if (kind === 'audio') this.micId = id;
    else this.camId = id;
    const live = kind === 'audio' ? this.audio : this.video || this.preview;
    if (live) {
      try {
        const s = await navigator.mediaDevices.getUserMedia({ [kind]: this.constraints(kind) });
        const t = (kind === 'audio' ? s.getAudioTracks() : s.getVideoTracks())[0];
        if (!t) throw new Error('no track');
        if (kind === 'audio') {
          this.stopTrack('audio');
          this.audio = t;
          this.startMeter();
        } else if (this.video) {
          this.video.stop();
          this.video = t;
        } else {
          this.preview.stop();
          this.preview = t;
        }
        this.tracksChanged(false);
      } catch (e) {
        toast('That device could not be used (check the browser’s permission).', { kind: 'error' });
      }
    }
    this.render();
  }

  /** getUserMedia constraints for my chosen device of `kind`. */
  constraints(kind) {
    if (kind === 'audio') return this.micId ? { deviceId: { exact: this.micId } } : true;
    return { width: 320, height: 240, ...(this.camId ? { deviceId: { exact: this.camId } } : {}) };
  }

  /** The microphones and cameras (their ids and names are known once the browser allowed one). */
  async refreshDevices() {
    if (!navigator.mediaDevices || !navigator.mediaDevices.enumerateDevices) return;
    try {
      const list = await navigator.mediaDevices.enumerateDevices();
      this.devices = {
        audio: list.filter((d) => d.kind === 'audioinput' && d.deviceId),
        video: list.filter((d) => d.kind === 'videoinput' && d.deviceId),
      };
    } catch (e) {
      this.devices = { audio: [], video: [] };
    }
    this.render();
  }

  /** Mute someone for myself only (their audio stops on this page). */
  toggleLocalMute(id) {
    if (this.localMuted.has(id)) this.localMuted.delete(id);
    else this.localMuted.add(id);
    this.render();
  }

  /** The camera was refused (call_full / call_off): turn it off here again. */
  onRefused(code) {
    if ((code === 'call_full' || code === 'call_off') && this.video) {
      this.stopTrack('video');
      this.tracksChanged(false);
    }
    if (code === 'call_off' || code === 'call_full') {
      if (!this.app.state.call.some((p) => p.member_id === this.me())) this.endLocal();
    }
  }

  // ------------------------------------------------------------ helpers

  me() {
    return this.app.state ? this.app.state.me.member_id : '';
  }

  connect(id) {
    const peer = new Peer({
      me: this.me(),
      id,
      iceServers: this.iceServers || [],
      iceTransportPolicy: this.relayOnly ? 'relay' : undefined,
      send: (data) => this.app.conn && this.app.conn.send({ type: 'signal', to: id, data }),
      tracks: () => ({ audio: this.audio, video: this.video }),
      receiveVideo: () => !this.audioOnly,
      onStream: (stream) => {
        this.streams.set(id, stream);
        this.render();
      },
      onState: (state) => {
        this.quality.set(id, state === 'connected' ? 'good' : state === 'failed' ? 'failed' : 'connecting');
        if (state === 'failed' && (this.relayOnly || this.turnRefused)) this.tellTurnProblem();
        this.render();
      },
      onIceError: (code) => {
        // 401: the TURN server refused the credentials Huddle gave (its secret differs from
        // --turn-secret, or they expired). Without the relay, a relay-only page cannot connect.
        if (code !== 401) return;
        this.turnRefused = true;
        if (this.relayOnly) this.tellTurnProblem();
      },
    });
    this.peers.set(id, peer);
    return peer;
  }

  /** Once per call: the relay (TURN) is not usable, so the call cannot connect. */
  tellTurnProblem() {
    if (this.turnProblemTold) return;
    this.turnProblemTold = true;
    toast(
      this.turnRefused
        ? 'The call cannot connect: the relay server (TURN) refused this call’s credentials. Tell the organizer (its secret may not match Huddle’s).'
        : 'The call could not connect through the relay server (TURN): check its credentials.',
      { kind: 'error', key: 'call-turn', testid: 'call-turn-error', timeout: 60000 },
    );
  }

  disconnect(id) {
    const p = this.peers.get(id);
    if (p) p.close();
    this.peers.delete(id);
    this.streams.delete(id);
    this.quality.delete(id);
    const v = this.videoEls.get(id);
    if (v) v.srcObject = null;
    this.videoEls.delete(id);
  }

  endLocal() {
    this.inCall = false;
    if (this.preview) this.preview.stop();
    this.preview = null;
    for (const id of [...this.peers.keys()]) this.disconnect(id);
    this.stopTrack('audio');
    this.stopTrack('video');
    this.iceServers = null;
    this.turnRefused = false;
    this.turnProblemTold = false;
    clearInterval(this.qualityTimer);
    this.qualityTimer = null;
    this.render();
  }

  stopTrack(kind) {
    const t = kind === 'audio' ? this.audio : this.video;
    if (t) t.stop();
    if (kind === 'audio') {
      this.audio = null;
      this.speaking = false;
      if (this.meter) {
        clearInterval(this.meter.timer);
        this.meter.ctx.close().catch(() => {});
        this.meter = null;
      }
    } else {
      this.video = null;
    }
  }

  /** My tracks changed: every sender, then the room. */
  tracksChanged(tell = true) {
    for (const p of this.peers.values()) p.attachTracks();
    if (tell) this.tellMedia();
    this.render();
  }

  tellMedia() {
    if (!this.inCall) return;
    this.app.send({ type: 'media_state', mic: !!this.audio, camera: !!this.video, speaking: this.speaking });
  }

  /** A facilitator turned my mic or camera off for everyone. */
  obey(media) {
    if (!media.mic && this.audio) this.stopTrack('audio');
    if (!media.camera && this.video) this.stopTrack('video');
    for (const p of this.peers.values()) p.attachTracks();
    toast(!media.mic ? 'A facilitator muted your microphone.' : 'A facilitator turned your camera off.');
  }

  /** Voice activity from my mic, told at most once a second. */
  startMeter() {
    try {
      const ctx = new AudioContext();
      const src = ctx.createMediaStreamSource(new MediaStream([this.audio]));
      const an = ctx.createAnalyser();
      an.fftSize = 512;
      src.connect(an);
      const buf = new Float32Array(an.fftSize);
      const timer = setInterval(() => {
        an.getFloatTimeDomainData(buf);
        let sum = 0;
        for (const v of buf) sum += v * v;
        const on = Math.sqrt(sum / buf.length) > SPEAKING_LEVEL;
        const now = Date.now();
        if (on !== this.speaking && now - this.lastSpeakingSent >= SPEAKING_EVERY_MS) {
          this.speaking = on;
          this.lastSpeakingSent = now;
          this.tellMedia();
          this.render();
        }
      }, 200);
      this.meter = { ctx, timer };
    } catch (e) {
      this.meter = null; // no voice activity: the rest of the call works
    }
  }

  startQuality() {
    clearInterval(this.qualityTimer);
    this.qualityTimer = setInterval(async () => {
      for (const [id, p] of this.peers) {
        if (this.quality.get(id) !== 'good' && this.quality.get(id) !== 'poor') continue;
        const s = await p.stats();
        const poor = (s.rtt !== null && s.rtt > 0.4) || s.packetsLost > 50;
        this.quality.set(id, poor ? 'poor' : 'good');
      }
      this.render();
    }, 3000);
  }

  /** For tests: inbound stats per peer. */
  async stats() {
    const out = {};
    for (const [id, p] of this.peers) out[id] = await p.stats();
    return out;
  }

  render() {
    if (this.app.state) renderCall(this.app, this);
  }
}
