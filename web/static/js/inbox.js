// The task inbox: my tasks and my roles' queue, filters, overdue marks, claim, and the form of the chosen task.
import { api, ApiError, hasRole, requireLogin } from './api.js';
import { renderDocuments } from './documents.js';
import { renderForm } from './form.js';
import { renderHistory } from './history.js';
import { $, ROLE_NAMES, STATUS_NAMES, clear, el, fmtTime, isOverdue, message } from './util.js';

const session = requireLogin();
const state = { scope: 'mine', tasks: [], processes: {}, selected: null, form: null };
const tbody = $('#task-table tbody');

function dueBadge(task) {
  if (!task.due_at) return el('span', { class: 'muted' }, '—');
  const overdue = isOverdue(task.due_at);
  return el('span', {}, fmtTime(task.due_at), overdue ? el('span', { class: 'badge overdue' }, ' 已超期') : null);
}

function visibleTasks() {
  const text = $('#filter-text').value.trim();
  const overdueOnly = $('#filter-overdue').checked;
  return state.tasks.filter((t) => (!text || t.name.includes(text) || (t.process_key || '').includes(text))
    && (!overdueOnly || isOverdue(t.due_at)));
}

function renderQueue() {
  const tasks = visibleTasks();
  clear(tbody, tasks.map((task) => el('tr', {
    class: `clickable${state.selected && state.selected.id === task.id ? ' selected' : ''}`,
    dataset: { taskId: task.id },
    onclick: () => selectTask(task.id),
  },
  el('td', {}, el('a', { href: `?task=${task.id}`, onclick: (e) => e.preventDefault() }, task.name),
    el('div', { class: 'small muted' }, ROLE_NAMES[task.role] || task.role || '')),
  el('td', {}, state.processes[task.process_key] || task.process_key),
  el('td', {}, dueBadge(task)),
  el('td', {}, task.assignee || el('span', { class: 'muted' }, '未认领')))));
  $('#queue-empty').hidden = tasks.length > 0;
}

async function loadQueue() {
  const params = new URLSearchParams({ status: 'ready' });
  if (state.scope === 'mine') params.set('assignee', 'me');
  if ($('#filter-role').value) params.set('role', $('#filter-role').value);
  if ($('#filter-process').value) params.set('process_key', $('#filter-process').value);
  try {
    state.tasks = await api(`/tasks?${params}`);
    message($('#queue-message'), '');
  } catch (exc) {
    state.tasks = [];
    message($('#queue-message'), exc.message);
  }
  renderQueue();
}

function facts(task) {
  const rows = [
    ['流程', state.processes[task.process_key] || task.process_key],
    ['业务编号', task.business_key],
    ['办理角色', ROLE_NAMES[task.role] || task.role],
    ['认领人', task.assignee || '未认领'],
    ['生成时间', fmtTime(task.created_at)],
    ['法定时限', task.rule],
  ];
  return rows.filter(([, v]) => v).flatMap(([k, v]) => [el('dt', {}, k), el('dd', {}, v)]);
}

function showTask(task) {
  state.selected = task;
  $('#task-placeholder').hidden = true;
  $('#task-detail').hidden = false;
  $('#task-title').textContent = task.name;
  clear($('#task-due'), task.due_at ? el('span', {}, '办理期限 ', dueBadge(task)) : null);
  clear($('#task-facts'), facts(task));
  const mine = task.assignee === session.username;
  $('#claim-button').hidden = !!task.assignee;
  $('#unclaim-button').hidden = !mine;
  $('#diagram-link').href = `/instances/${encodeURIComponent(task.instance_id)}`;
  const schema = task.form || { type: 'object', properties: {} };
  state.form = renderForm($('#form-fields'), schema, {});
  clear($('#task-variables'), Object.entries(task.variables || {}).filter(([, v]) => typeof v !== 'object' || v === null)
    .flatMap(([k, v]) => [el('dt', {}, k), el('dd', {}, String(v))]));
  renderQueue();
}

async function selectTask(taskId) {
  message($('#task-message'), '');
  try {
    const task = await api(`/tasks/${encodeURIComponent(taskId)}`);
    showTask(task);
    history.replaceState(null, '', `?task=${encodeURIComponent(taskId)}`);
    renderHistory($('#history'), task.instance_id, task.process_key);
    renderDocuments($('#documents'), task.instance_id, task.variables, session);
  } catch (exc) {
    message($('#task-message'), exc.message);
  }
}

async function act(verb) {
  const task = state.selected;
  try {
    const updated = await api(`/tasks/${encodeURIComponent(task.id)}/${verb}`, { method: 'POST' });
    Object.assign(task, updated);
    showTask(task);
    message($('#task-message'), verb === 'claim' ? '已认领' : '已退回', 'ok');
    await loadQueue();
  } catch (exc) {
    message($('#task-message'), exc.message);
  }
}

$('#claim-button').addEventListener('click', () => act('claim'));
$('#unclaim-button').addEventListener('click', () => act('unclaim'));

$('#task-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const task = state.selected;
  if (!task || !state.form) return;
  const button = $('#complete-button');
  button.disabled = true;
  state.form.clearErrors();
  message($('#task-message'), '');
  try {
    const instance = await api(`/tasks/${encodeURIComponent(task.id)}/complete`, {
      method: 'POST', body: { data: state.form.collect() },
    });
    const next = (instance.tasks || []).map((t) => t.name).join('、');
    $('#task-detail').hidden = true;
    $('#task-placeholder').hidden = false;
    $('#task-placeholder').textContent = '';
    message($('#task-message'), '');
    clear($('#task-placeholder'), el('div', { class: 'message ok', id: 'completed-message' },
      `「${task.name}」已办结。流程状态：${STATUS_NAMES[instance.status] || instance.status}`,
      next ? `；下一步：${next}` : ''));
    state.selected = null;
    history.replaceState(null, '', location.pathname);
    renderHistory($('#history'), task.instance_id, task.process_key);
    await loadQueue();
  } catch (exc) {
    if (exc instanceof ApiError && exc.status === 422) {
      const citation = exc.body.citation ? `（${exc.body.citation}）` : '';
      state.form.showErrors(exc.errors, `${exc.message}${citation}`);
    } else {
      message($('#task-message'), exc.message);
    }
  } finally {
    button.disabled = false;
  }
});

for (const tab of document.querySelectorAll('[data-scope]')) {
  tab.addEventListener('click', () => {
    state.scope = tab.dataset.scope;
    for (const other of document.querySelectorAll('[data-scope]')) other.classList.toggle('active', other === tab);
    loadQueue();
  });
}
$('#filter-role').addEventListener('change', loadQueue);
$('#filter-process').addEventListener('change', loadQueue);
$('#filter-text').addEventListener('input', renderQueue);
$('#filter-overdue').addEventListener('change', renderQueue);

if (hasRole(session, 'bidder')) {
  $('#bidder-box').hidden = false;
  $('#bid-goto').addEventListener('submit', (event) => {
    event.preventDefault();
    const id = $('#bid-instance').value.trim();
    if (id) location.href = `/bids/${encodeURIComponent(id)}`;
  });
  $('#auction-goto').addEventListener('submit', (event) => {
    event.preventDefault();
    const id = $('#auction-instance').value.trim();
    if (id) location.href = `/auctions?instance=${encodeURIComponent(id)}`;
  });
}

async function start() {
  for (const role of session.roles || []) {
    $('#filter-role').append(el('option', { value: role }, ROLE_NAMES[role] || role));
  }
  try {
    for (const d of await api('/process-definitions')) {
      state.processes[d.key] = d.name || d.key;
      $('#filter-process').append(el('option', { value: d.key }, d.name || d.key));
    }
  } catch { /* the names are a nicety; keys still show */ }
  // Nothing claimed yet: start on the roles' queue so there is something to pick.
  const wanted = new URLSearchParams(location.search).get('task');
  await loadQueue();
  if (!state.tasks.length) document.querySelector('[data-scope="roles"]').click();
  if (wanted) await selectTask(wanted);
}

start();
