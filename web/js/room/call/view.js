// The call panel: the privacy sentence, join/leave, my mic and camera, the video grid (self
// view + one tile per other member: name, mic state, speaking ring, connection hint), and the
// facilitators' controls (call mode, mute for everyone, stop video, mute all, give the floor);
// before joining, a camera preview; microphone and camera pickers; audio only for oneself.
// Keyboard: Alt+M mic, Alt+V camera, Alt+A audio only (shown on the buttons); focus stays on
// the control it was on across redraws.

import { byTestId as T, h } from '../../dom.js';
import { isFac, nameOf } from '../../state.js';

export const PRIVACY =
  'Audio and video go directly between browsers, encrypted; nothing is recorded.';

function button(label, testid, onclick, extra = {}) {
  return h('button', { type: 'button', testid, onclick, ...extra }, label);
}

export function renderCall(app, call) {
  const panel = T('call-panel');
  if (!panel || !app.state) return;
  const s = app.state;
  const mode = (s.info && s.info.call) || 'off';
  const fac = isFac(s.me.role);
  panel.hidden = mode === 'off' && !fac;
  const kids = [h('h2', { id: 'call-h' }, 'Call')];
  kids.push(h('p', { class: 'muted small', testid: 'call-privacy' }, PRIVACY));
  if (fac) {
    const sel = h(
      'select',
      {
        testid: 'call-mode',
        'aria-label': 'Call in this room',
        onchange: (e) => app.send({ type: 'set_call', mode: e.target.value }),
      },
      ...[
        ['off', 'Call off'],
        ['audio', 'Audio call'],
        ['video', 'Video call'],
      ].map(([v, l]) => h('option', { value: v, selected: v === mode }, l)),
    );
    kids.push(h('div', { class: 'row' }, sel, mode !== 'off' ? button('Mute all', 'call-mute-all', () => app.send({ type: 'mute_all' })) : null));
  }
  if (mode !== 'off') {
    if (!call.inCall) {
      const withCamera = !!call.preview && mode === 'video';
      kids.push(
        h(
          'div',
          { class: 'row call-controls' },
          button(mode === 'video' ? `Join the call${withCamera ? ' (camera on)' : ''}` : 'Join the audio call', 'call-join', () => call.join(), { class: 'primary' }),
          mode === 'video' && !call.audioOnly
            ? button(call.preview ? 'Stop preview' : 'Preview camera', 'call-preview-toggle', () => call.togglePreview(), { 'aria-pressed': String(!!call.preview) })
            : null,
          mode === 'video' ? audioOnlyButton(call) : null,
        ),
      );
      kids.push(devicePickers(call, mode));
      if (call.preview) {
        const v = videoFor(call, 'preview', 'Your camera preview');
        v.muted = true;
        if ((v.srcObject && v.srcObject.getVideoTracks()[0]) !== call.preview) v.srcObject = new MediaStream([call.preview]);
        kids.push(h('figure', { class: 'call-tile self call-preview', testid: 'call-preview' }, v, h('figcaption', {}, 'Only you see this preview; joining keeps your camera on.')));
      }
      kids.push(h('p', { class: 'muted small' }, 'Your microphone and camera stay off until you turn them on.'));
    } else {
      kids.push(
        h(
          'div',
          { class: 'row call-controls' },
          button(call.audio ? 'Mute mic (Alt+M)' : 'Unmute mic (Alt+M)', 'call-mic', () => call.toggleMic(), { 'aria-pressed': String(!!call.audio) }),
          mode === 'video'
            ? button(call.video ? 'Stop camera (Alt+V)' : 'Start camera (Alt+V)', 'call-camera', () => call.toggleCamera(), { 'aria-pressed': String(!!call.video), disabled: call.audioOnly })
            : null,
          mode === 'video' ? audioOnlyButton(call) : null,
          button('Leave call', 'call-leave', () => call.leave()),
        ),
      );
      kids.push(devicePickers(call, mode));
      kids.push(grid(app, call, fac));
    }
  }
  // Redraws replace the controls: keep keyboard focus on the same one.
  const active = document.activeElement;
  let refocus = null;
  if (active && active !== panel && panel.contains(active) && active.dataset.testid) {
    const tileEl = active.closest('[data-member]');
    refocus = `${tileEl ? `[data-member="${tileEl.dataset.member}"] ` : ''}[data-testid="${active.dataset.testid}"]`;
  }
  panel.replaceChildren(...kids);
  if (refocus) {
    const again = panel.querySelector(refocus);
    if (again && !again.disabled) again.focus();
  }
}

function audioOnlyButton(call) {
  return button(`${call.audioOnly ? '✓ ' : ''}Audio only (Alt+A)`, 'call-audio-only', () => call.toggleAudioOnly(), {
    'aria-pressed': String(call.audioOnly),
    title: 'No video for me: my camera off, and I stop receiving the others’ video',
  });
}

/** Microphone and camera choices (listed once the browser allowed one of them). */
function devicePickers(call, mode) {
  const pick = (kind, label, testid, current) => {
    const list = call.devices[kind];
    if (!list.length) return null;
    return h(
      'label',
      { class: 'call-device' },
      `${label} `,
      h(
        'select',
        { testid, onchange: (e) => call.chooseDevice(kind, e.target.value) },
        h('option', { value: '', selected: !current }, 'Default'),
        ...list.map((d, i) => h('option', { value: d.deviceId, selected: d.deviceId === current }, d.label || `${label} ${i + 1}`)),
      ),
    );
  };
  const mic = pick('audio', 'Microphone', 'call-mic-device', call.micId);
  const cam = mode === 'video' && !call.audioOnly ? pick('video', 'Camera', 'call-camera-device', call.camId) : null;
  return mic || cam ? h('div', { class: 'row call-devices' }, mic, cam) : null;
}

function grid(app, call, fac) {
  const s = app.state;
  const tiles = [];
  const self = h('figure', { class: 'call-tile self', testid: 'call-self', dataset: { mic: call.audio ? 'on' : 'off', speaking: call.speaking ? 'yes' : 'no' } });
  const v = videoFor(call, '', 'Your camera');
  v.muted = true;
  const mine = v.srcObject && v.srcObject.getVideoTracks()[0];
  if (mine !== (call.video || undefined)) v.srcObject = call.video ? new MediaStream([call.video]) : null;
  self.append(v, h('figcaption', {}, `You${call.audio ? '' : ' (muted)'}`));
  tiles.push(self);
  for (const p of s.call || []) {
    if (p.member_id === s.me.member_id) continue;
    tiles.push(tile(app, call, p, fac));
  }
  return h('div', { class: 'call-grid', testid: 'call-grid' }, ...tiles);
}

function tile(app, call, p, fac) {
  const s = app.state;
  const id = p.member_id;
  const m = p.media || {};
  const personal = (s.personallyMuted || []).includes(id) || call.localMuted.has(id);
  const hear = !!m.mic && !personal;
  const quality = call.quality.get(id) || 'connecting';
  const floor = s.floor === id;
  const el = h('figure', {
    class: `call-tile${m.speaking && m.mic ? ' speaking' : ''}${floor ? ' floor' : ''}`,
    testid: 'call-tile',
    dataset: { member: id, mic: m.mic ? 'on' : 'off', camera: m.camera ? 'on' : 'off', heard: hear ? 'yes' : 'no', quality },
  });
  const video = videoFor(call, id, `${nameOf(s, id)}’s camera`);
  const stream = call.streams.get(id);
  if (stream) {
    if (video.srcObject !== stream) video.srcObject = stream;
    // Receivers apply "mute for everyone" (and my own mute of them): their audio stops here.
    for (const t of stream.getAudioTracks()) t.enabled = hear;
  }
  video.muted = !hear;
  video.hidden = call.audioOnly; // still plays the audio
  const controls = [button(call.localMuted.has(id) ? 'Unmute for me' : 'Mute for me', 'call-mute-me', () => call.toggleLocalMute(id))];
  if (fac) {
    controls.push(
      button('Mute for everyone', 'call-mute-media', () => app.send({ type: 'mute_media', member_id: id }), { disabled: !m.mic }),
      button('Stop video', 'call-stop-video', () => app.send({ type: 'stop_video', member_id: id }), { disabled: !m.camera }),
      button(floor ? 'Take back the floor' : 'Give the floor', 'call-floor', () => giveFloor(app, floor ? null : id, nameOf(s, id))),
    );
  }
  el.append(
    video,
    h(
      'figcaption',
      {},
      h('span', { class: 'call-name' }, nameOf(s, id)),
      h('span', { class: 'call-mic', testid: 'call-mic-state' }, m.mic ? ' · mic on' : ' · muted'),
      h('span', { class: `call-quality ${quality}`, title: 'Connection' }, quality === 'poor' ? ' · weak connection' : quality === 'failed' ? ' · not connected' : ''),
      floor ? h('strong', {}, ' · has the floor') : null,
    ),
    h('div', { class: 'call-tile-actions' }, ...controls),
  );
  return el;
}

/** One video element per member (kept across redraws: playback never restarts). */
function videoFor(call, id, label) {
  let v = call.videoEls.get(id);
  if (!v) {
    v = h('video', { autoplay: true, playsinline: true });
    call.videoEls.set(id, v);
  }
  v.setAttribute('aria-label', label);
  return v;
}

/** Keyboard shortcuts while in the call (labels are on the buttons). */
export function wireCallKeys(call) {
  document.addEventListener('keydown', (e) => {
    if (!call.inCall || !e.altKey) return;
    if (e.key === 'm' || e.key === 'M') {
      e.preventDefault();
      call.toggleMic();
    } else if (e.key === 'v' || e.key === 'V') {
      e.preventDefault();
      call.toggleCamera();
    } else if (e.key === 'a' || e.key === 'A') {
      e.preventDefault();
      call.toggleAudioOnly();
    }
  });
}

/**
 * Give the floor (spotlight) and, with it, a speaker timer of the timer form's length (so the
 * room sees how long the floor lasts); taking it back only clears the spotlight.
 */
function giveFloor(app, memberId, name) {
  app.send({ type: 'give_floor', member_id: memberId });
  if (!memberId) return;
  const mins = Number(document.querySelector('[data-testid="timer-minutes"]')?.value) || 3;
  const secs = Math.min(24 * 3600, Math.max(10, Math.round(mins * 60)));
  app.send({ type: 'timer_start', name: `${name} has the floor`.slice(0, 60), duration_secs: secs });
}
