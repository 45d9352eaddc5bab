import { api, $, showError, home } from './api.js';

$('signin-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  showError('signin-error', null);
  $('signin-submit').disabled = true;
  try {
    const me = await api('POST', '/api/auth/sign-in', {
      email: $('signin-email').value,
      password: $('signin-password').value,
    });
    location.assign(home(me));
  } catch (e) {
    showError('signin-error', e);
  } finally {
    $('signin-submit').disabled = false;
  }
});
