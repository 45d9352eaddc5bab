// The WebSocket connection: join on open, keep-alive pings with a clock
// check, and reconnection with exponential backoff (0.5 s doubling to 10 s,
// with jitter) until stopped.

const PING_EVERY_MS = 15000;
const PONG_TIMEOUT_MS = 10000;
const OPEN_TIMEOUT_MS = 10000;

export class Connection {
  /**
   * @param {object} o
   * @param {() => object} o.joinFrame  builds the join frame for each (re)connect
   * @param {(msg: object) => void} o.onFrame
   * @param {(status: 'connecting'|'open'|'reconnecting'|'closed', info?: object) => void} o.onStatus
   * @param {(rttMs: number, serverTime: number, t: number) => void} [o.onPong]
   */
  constructor(o) {
    this.o = o;
    this.ws = null;
    this.attempt = 0;
    this.stopped = false;
    this.retryTimer = null;
    this.pingTimer = null;
    this.openTimer = null;
    this.pendingPing = null;
    this.everOpened = false;
    this.onOnline = () => {
      if (!this.ws && !this.stopped && this.retryTimer) {
        clearTimeout(this.retryTimer);
        this.retryTimer = null;
        this.connect();
      }
    };
    window.addEventListener('online', this.onOnline);
  }

  url() {
    const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
    return `${proto}//${location.host}/ws`;
  }

  connect() {
    if (this.stopped) return;
    this.o.onStatus(this.everOpened ? 'reconnecting' : 'connecting');
    let ws;
    try {
      ws = new WebSocket(this.url());
    } catch {
      this.scheduleReconnect();
      return;
    }
    this.ws = ws;
    this.openTimer = setTimeout(() => {
      if (ws === this.ws && ws.readyState !== WebSocket.OPEN) ws.close();
    }, OPEN_TIMEOUT_MS);
    ws.addEventListener('open', () => {
      if (ws !== this.ws) return;
      clearTimeout(this.openTimer);
      this.everOpened = true;
      ws.send(JSON.stringify(this.o.joinFrame()));
      this.o.onStatus('open');
      this.pingTimer = setInterval(() => this.ping(), PING_EVERY_MS);
    });
    ws.addEventListener('message', (e) => {
      if (ws !== this.ws || typeof e.data !== 'string') return;
      let msg;
      try {
        msg = JSON.parse(e.data);
      } catch {
        return;
      }
      if (msg && msg.type === 'pong' && this.pendingPing && msg.t === this.pendingPing) {
        const rtt = Date.now() - msg.t;
        this.pendingPing = null;
        if (this.o.onPong) this.o.onPong(rtt, msg.server_time, msg.t);
      }
      this.o.onFrame(msg);
    });
    ws.addEventListener('close', (e) => {
      if (ws !== this.ws) return; // an old socket we already replaced
      this.cleanupSocket();
      if (this.stopped) {
        this.o.onStatus('closed', { code: e.code, reason: e.reason });
        return;
      }
      const verdict = this.o.onClose ? this.o.onClose(e.code, e.reason) : 'retry';
      if (verdict === 'stop') {
        this.stopped = true;
        this.o.onStatus('closed', { code: e.code, reason: e.reason });
        return;
      }
      this.o.onStatus('reconnecting', { code: e.code });
      this.scheduleReconnect(verdict === 'now');
    });
  }

  cleanupSocket() {
    clearTimeout(this.openTimer);
    clearInterval(this.pingTimer);
    this.pingTimer = null;
    this.pendingPing = null;
    this.ws = null;
  }

  scheduleReconnect(now = false) {
    if (this.stopped || this.retryTimer) return;
    const base = Math.min(10000, 500 * 2 ** this.attempt);
    let delay = now ? 0 : base / 2 + Math.random() * (base / 2);
    if (this.holdUntil) delay = Math.max(delay, this.holdUntil - Date.now());
    this.attempt += 1;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.connect();
    }, delay);
  }

  /** The join succeeded: the next outage starts its backoff from 0.5 s again. */
  joined() {
    this.attempt = 0;
  }

  ping() {
    if (!this.isOpen()) return;
    if (this.pendingPing && Date.now() - this.pendingPing > PONG_TIMEOUT_MS) {
      // The server stopped answering: treat the socket as dead.
      this.ws.close();
      return;
    }
    if (this.pendingPing) return;
    const t = Date.now();
    this.pendingPing = t;
    this.send({ type: 'ping', t });
  }

  isOpen() {
    return !!this.ws && this.ws.readyState === WebSocket.OPEN;
  }

  send(obj) {
    if (!this.isOpen()) return false;
    this.ws.send(JSON.stringify(obj));
    return true;
  }

  /**
   * Close this socket (as a network drop would) and let reconnection happen;
   * `holdMs` (tests) keeps the client offline at least that long.
   */
  drop(holdMs = 0) {
    if (holdMs > 0) this.holdUntil = Date.now() + holdMs;
    if (this.ws) this.ws.close();
  }

  /** Close and reconnect at once (e.g. to join afresh after a refused resume). */
  restart() {
    if (this.ws) {
      const ws = this.ws;
      this.cleanupSocket();
      ws.close();
    }
    clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.connect();
  }

  /** Stop for good: no more reconnects. */
  stop() {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    this.retryTimer = null;
    window.removeEventListener('online', this.onOnline);
    if (this.ws) {
      const ws = this.ws;
      this.cleanupSocket();
      ws.close(1000);
    }
  }
}
