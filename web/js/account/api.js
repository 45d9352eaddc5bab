// The account pages' few calls: JSON in and out, the session cookie sent by
// the browser (HttpOnly: scripts never see it). Errors carry the server's
// message, shown as is.

export async function api(method, path, body) {
  const init = { method, credentials: 'same-origin', headers: {} };
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  const r = await fetch(path, init);
  let data = null;
  try {
    data = await r.json();
  } catch {
    /* no body (204) */
  }
  if (!r.ok) {
    const e = new Error((data && data.message) || `The server answered ${r.status}.`);
    e.status = r.status;
    throw e;
  }
  return data;
}

export const $ = (id) => document.querySelector(`[data-testid="${id}"]`);

export function showError(id, err) {
  const el = $(id);
  el.textContent = err ? err.message || String(err) : '';
  el.hidden = !err;
}

/** Where a signed-in account goes first. */
export function home(me) {
  return me.role === 'admin' ? '/admin' : '/my-rooms';
}

/** The signed-in account, or off to the sign-in page. Shows who and a sign-out button. */
export async function requireMe() {
  let me;
  try {
    me = await api('GET', '/api/me');
  } catch (e) {
    if (e.status === 401) {
      location.assign('/signin');
      return null;
    }
    throw e;
  }
  $('account-who').textContent = `${me.name} (${me.role.replace('_', ' ')})`;
  const out = $('sign-out');
  out.hidden = false;
  out.addEventListener('click', async () => {
    try {
      await api('POST', '/api/auth/sign-out', {});
    } finally {
      location.assign('/signin');
    }
  });
  return me;
}
