// One page for every one-time link: the first admin's setup, an invite
// (email, name and password), an admin-issued password reset.
import { api, $, showError, home } from './api.js';

const token = new URLSearchParams(location.search).get('token') || '';
// The token stays out of the address bar (and of anything copied from it).
history.replaceState(null, '', '/setup');

const ROLE = { admin: 'an admin', facilitator: 'a facilitator', peer_supporter: 'a peer supporter' };

async function start() {
  let info;
  try {
    info = await api('POST', '/api/auth/link', { token });
  } catch (e) {
    $('setup-title').textContent = 'This link cannot be used';
    showError('setup-error', e);
    return;
  }
  const invite = info.kind === 'invite';
  $('setup-title').textContent = invite ? 'Create your account' : 'Set your password';
  $('setup-what').textContent = invite
    ? `You are invited as ${ROLE[info.role] || info.role}.`
    : `For ${info.name} (${info.email}).`;
  $('setup-invite-fields').hidden = !invite;
  $('setup-email').required = invite;
  $('setup-name').required = invite;
  $('setup-form').hidden = false;
  $('setup-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    showError('setup-error', null);
    const password = $('setup-password').value;
    if (password !== $('setup-confirm').value) {
      showError('setup-error', new Error('The two passwords differ.'));
      return;
    }
    $('setup-submit').disabled = true;
    try {
      const body = { token, password };
      if (invite) {
        body.email = $('setup-email').value;
        body.name = $('setup-name').value;
      }
      const me = await api('POST', '/api/auth/accept', body);
      location.assign(home(me));
    } catch (e) {
      showError('setup-error', e);
    } finally {
      $('setup-submit').disabled = false;
    }
  });
}

start();
