// Sign in with a username and password (POST /auth/login) or with an API token (checked by GET /auth/me).
import { api, ApiError, clearSession, setSession } from './api.js';
import { $, message } from './util.js';

const error = $('#login-error');

for (const tab of document.querySelectorAll('[data-tab]')) {
  tab.addEventListener('click', () => {
    for (const other of document.querySelectorAll('[data-tab]')) other.classList.toggle('active', other === tab);
    for (const pane of document.querySelectorAll('[data-pane]')) pane.hidden = pane.dataset.pane !== tab.dataset.tab;
    message(error, '');
  });
}

function landing(session) {
  const next = new URLSearchParams(location.search).get('next');
  if (next && /^\/(?![/\\])/.test(next)) return next; // same-site paths only, never //host or /\host
  const roles = session.roles || [];
  if (roles.includes('supervisor')) return '/dashboard';
  if (roles.includes('designer') && roles.length === 1) return '/modeler';
  return '/inbox';
}

$('#password-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  message(error, '');
  const button = $('#login-submit');
  button.disabled = true;
  try {
    const session = await api('/auth/login', {
      method: 'POST', auth: false,
      body: { username: $('#username').value.trim(), password: $('#password').value },
    });
    setSession(session);
    location.href = landing(session);
  } catch (exc) {
    message(error, exc instanceof ApiError ? exc.message : '登录失败，请稍后再试');
  } finally {
    button.disabled = false;
  }
});

$('#token-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  message(error, '');
  const token = $('#token').value.trim();
  setSession({ token });
  try {
    const me = await api('/auth/me');
    const session = { token, username: me.username, roles: me.roles, region: me.region, org: me.org };
    setSession(session);
    location.href = landing(session);
  } catch (exc) {
    clearSession();
    message(error, exc instanceof ApiError ? exc.message : '令牌无效');
  }
});
