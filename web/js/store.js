// Per-tab persistence (sessionStorage): the facilitator key, the display
// name, the resume credentials and the last rendered room state, so that a
// reconnect or a page reload resumes exactly where the tab was.
//
// Only while the tab is in the room: the saved state holds the conversation,
// so once the tab is done with the room (Leave, removed, declined, the session
// ended, the room is gone) `clear` drops everything about it (issue 22 G).
// Two things are written to localStorage, neither about a room: the province picked for the
// crisis lines (crisis.js), and this browser's device id (`deviceId`): a random id,
// naming nobody and no room, sent in `join` so that a member removed from a room cannot come
// back by a plain join from the same browser (issue 15, item 7). Another browser, a private
// window or cleared site data is a new device: the waiting room is the remedy for that.

const P = 'huddle.';

function get(k) {
  try {
    const v = sessionStorage.getItem(P + k);
    return v == null ? null : JSON.parse(v);
  } catch {
    return null;
  }
}

function set(k, v) {
  try {
    if (v == null) sessionStorage.removeItem(P + k);
    else sessionStorage.setItem(P + k, JSON.stringify(v));
  } catch {
    /* storage full or disabled: the session still works, only reload-resume is lost */
  }
}

const DEVICE_RE = /^[A-Za-z0-9_-]{16,64}$/;

/** 32 random hex digits (crypto.getRandomValues works outside secure contexts too). */
function randomId() {
  const b = new Uint8Array(16);
  crypto.getRandomValues(b);
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

export const store = {
  /** This browser's device id (created once, kept in localStorage); null when storage is off. */
  deviceId() {
    try {
      let id = localStorage.getItem(P + 'device');
      if (!id || !DEVICE_RE.test(id)) {
        id = randomId();
        localStorage.setItem(P + 'device', id);
      }
      return id;
    } catch {
      return null; // storage disabled: join without one
    }
  },
  key: (room) => get('key.' + room),
  setKey: (room, key) => set('key.' + room, key),
  name: (room) => get('name.' + room),
  setName: (room, name) => set('name.' + room, name),
  /** { member_id, token } */
  resume: (room) => get('resume.' + room),
  setResume: (room, r) => set('resume.' + room, r),
  /** The room state (snapshot + applied events) and its seq/epoch. */
  state: (room) => get('state.' + room),
  setState: (room, s) => set('state.' + room, s),
  /** Forget this membership but not who I am (a refused resume: join afresh, same name and key). */
  forget(room) {
    set('resume.' + room, null);
    set('state.' + room, null);
  },
  /** Forget everything about this room: the tab left it for good (left, removed, declined, ended). */
  clear(room) {
    for (const k of ['key.', 'name.', 'resume.', 'state.']) set(k + room, null);
  },
};
