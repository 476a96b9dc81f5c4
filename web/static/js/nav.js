// The header on every page: who is signed in, and the links their roles may use.
import { api, clearSession, getSession } from './api.js';
import { $ } from './util.js';

const session = getSession();
const page = document.body.dataset.page;
for (const link of document.querySelectorAll('[data-nav]')) {
  if (link.dataset.nav === page) link.classList.add('active');
  const roles = link.dataset.roles;
  if (!roles) continue;
  const allowed = session && (roles === '*' || roles.split(' ').some((r) => (session.roles || []).includes(r)));
  link.hidden = !allowed;
}
if (session) {
  $('#login-link').hidden = true;
  const name = $('#user-name');
  name.textContent = session.username;
  name.hidden = false;
  const logout = $('#logout-button');
  logout.hidden = false;
  logout.addEventListener('click', async () => {
    try { await api('/auth/logout', { method: 'POST' }); } catch { /* signing out locally is enough */ }
    clearSession();
    location.href = '/login';
  });
}
