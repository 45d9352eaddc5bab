// One WebRTC connection with one other member of the call, negotiated with the W3C "perfect
// negotiation" pattern: of each pair, the member with the lower member id is polite (it yields
// on an offer collision), so glare never wedges a pair.
//
// Media: exactly one audio and one video transceiver per pair. The impolite side creates them;
// the polite side adopts the ones the offer creates. Turning a mic or camera on or off only
// replaces the sender's track: no renegotiation. Nothing here logs SDP or candidates.

const CANDIDATE_BATCH_MS = 60;
const MAX_CANDIDATES = 32; // protocol: candidates per signal

export class Peer {
  /**
   * @param {object} o
   * @param {string} o.me my member id
   * @param {string} o.id the other member's id
   * @param {RTCIceServer[]} o.iceServers
   * @param {string} [o.iceTransportPolicy] 'all' or 'relay'
   * @param {(data: object) => void} o.send sends a signal's data to this member
   * @param {() => {audio: MediaStreamTrack|null, video: MediaStreamTrack|null}} o.tracks my tracks
   * @param {() => boolean} [o.receiveVideo] false: audio only (this pair's video goes inactive)
   * @param {(stream: MediaStream) => void} o.onStream the remote stream, once it has a track
   * @param {(state: string) => void} o.onState connection state changes
   * @param {(code: number) => void} [o.onIceError] a STUN/TURN server's error code (401: refused
   *   credentials), from icecandidateerror; its URL and text are not passed on (nor logged)
   */
  constructor(o) {
    this.id = o.id;
    this.polite = o.me < o.id;
    this.send = o.send;
    this.tracks = o.tracks;
    this.receiveVideo = o.receiveVideo || (() => true);
    this.onStream = o.onStream;
    this.onState = o.onState;
    this.makingOffer = false;
    this.ignoreOffer = false;
    this.pending = [];
    this.flushTimer = null;
    this.closed = false;
    this.stream = new MediaStream();
    const cfg = { iceServers: o.iceServers || [] };
    if (o.iceTransportPolicy) cfg.iceTransportPolicy = o.iceTransportPolicy;
    this.pc = new RTCPeerConnection(cfg);
    this.pc.ontrack = ({ track }) => {
      if (!this.stream.getTracks().includes(track)) this.stream.addTrack(track);
      this.onStream(this.stream);
    };
    this.pc.onicecandidate = ({ candidate }) => {
      if (candidate && candidate.candidate) this.queueCandidate(candidate.toJSON());
    };
    this.pc.onconnectionstatechange = () => this.onState(this.pc.connectionState);
    this.pc.onicecandidateerror = (e) => {
      if (o.onIceError && typeof e.errorCode === 'number') o.onIceError(e.errorCode);
    };
    this.pc.onnegotiationneeded = () => this.offer();
    if (!this.polite) {
      this.pc.addTransceiver('audio', { direction: 'sendrecv' });
      this.pc.addTransceiver('video', { direction: 'sendrecv' });
      this.attachTracks();
    }
  }

  /**
   * Put my current tracks (or none) on the senders; audio only makes the video inactive both
   * ways (a direction change: negotiationneeded renegotiates it).
   */
  attachTracks() {
    const t = this.tracks();
    const video = this.receiveVideo();
    for (const tr of this.pc.getTransceivers()) {
      const kind = tr.receiver.track && tr.receiver.track.kind;
      if (tr.currentDirection === 'stopped' || !kind) continue;
      const dir = kind === 'video' && !video ? 'inactive' : 'sendrecv';
      if (tr.direction !== dir) tr.direction = dir;
      const want = kind === 'audio' ? t.audio : video ? t.video : null;
      if (tr.sender.track !== want) {
        tr.sender.replaceTrack(want || null).catch(() => {});
      }
    }
  }

  async offer() {
    if (this.closed) return;
    try {
      this.makingOffer = true;
      await this.pc.setLocalDescription();
      this.send({ description: { type: this.pc.localDescription.type, sdp: this.pc.localDescription.sdp } });
    } catch (e) {
      // The next negotiationneeded (or the other side's offer) tries again.
      console.warn('call: could not make an offer', e && e.name);
    } finally {
      this.makingOffer = false;
    }
  }

  /** A signal from this member: a description and/or candidates. */
  async onSignal(data) {
    if (this.closed || !data || typeof data !== 'object') return;
    const d = data.description;
    try {
      if (d) {
        const collision = d.type === 'offer' && (this.makingOffer || this.pc.signalingState !== 'stable');
        this.ignoreOffer = !this.polite && collision;
        if (this.ignoreOffer) return;
        await this.pc.setRemoteDescription(d);
        if (d.type === 'offer') {
          this.attachTracks();
          await this.pc.setLocalDescription();
          this.send({ description: { type: this.pc.localDescription.type, sdp: this.pc.localDescription.sdp } });
        }
      }
      for (const c of Array.isArray(data.candidates) ? data.candidates : []) {
        try {
          await this.pc.addIceCandidate(c);
        } catch (e) {
          if (!this.ignoreOffer) console.warn('call: a candidate was refused', e && e.name);
        }
      }
    } catch (e) {
      console.warn('call: negotiation step failed', e && e.name);
    }
  }

  queueCandidate(c) {
    this.pending.push(c);
    if (this.pending.length >= MAX_CANDIDATES) return this.flush();
    if (!this.flushTimer) this.flushTimer = setTimeout(() => this.flush(), CANDIDATE_BATCH_MS);
  }

  flush() {
    clearTimeout(this.flushTimer);
    this.flushTimer = null;
    while (this.pending.length) {
      this.send({ candidates: this.pending.splice(0, MAX_CANDIDATES) });
    }
  }

  /** After a resume: renegotiate with an ICE restart. */
  restartIce() {
    if (!this.closed) this.pc.restartIce();
  }

  /** Inbound totals for the connection-quality hint and the tests. */
  async stats() {
    const out = {
      framesDecoded: 0, audioPacketsReceived: 0, packetsLost: 0, rtt: null, relay: false,
      policy: 'all', localCandidate: null, sending: { audio: null, video: null },
    };
    if (this.closed) return out;
    out.policy = this.pc.getConfiguration().iceTransportPolicy || 'all';
    for (const tr of this.pc.getTransceivers()) {
      const k = tr.receiver.track && tr.receiver.track.kind;
      if (k && tr.sender.track) out.sending[k] = tr.sender.track.id;
    }
    const report = await this.pc.getStats();
    let pair = null;
    report.forEach((s) => {
      if (s.type === 'inbound-rtp' && s.kind === 'video') out.framesDecoded += s.framesDecoded || 0;
      if (s.type === 'inbound-rtp' && s.kind === 'audio') out.audioPacketsReceived += s.packetsReceived || 0;
      if (s.type === 'inbound-rtp') out.packetsLost += s.packetsLost || 0;
      if (s.type === 'candidate-pair' && s.nominated && s.state === 'succeeded') pair = s;
    });
    if (pair) {
      out.rtt = typeof pair.currentRoundTripTime === 'number' ? pair.currentRoundTripTime : null;
      const local = report.get(pair.localCandidateId);
      out.relay = !!local && local.candidateType === 'relay';
      if (local) out.localCandidate = { type: local.candidateType, address: local.address || null, port: local.port || null };
    }
    return out;
  }

  close() {
    this.closed = true;
    clearTimeout(this.flushTimer);
    this.pc.close();
  }
}
