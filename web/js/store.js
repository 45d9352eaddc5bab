// Per-tab persistence (sessionStorage): the facilitator key, the display
// name, the resume credentials and the last rendered room state, so that a
// reconnect or a page reload resumes exactly where the tab was.
//
// Only while the tab is in the room: the saved state holds the conversation,
// so once the tab is done with the room (Leave, removed, declined, the session
// ended, the room is gone) `clear` drops everything about it (issue 22 G).
// Nothing about a room is ever written to localStorage (only the province
// picked for the crisis lines: crisis.js).

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

export const store = {
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
