// The supervisor's dashboard: alerts to review, overdue deadlines, trade statistics as charts.
import { api, hasRole, requireLogin } from './api.js';
import { barChart } from './charts.js';
import { itemsOf } from './public.js';
import { $, CATEGORY_NAMES, STATUS_NAMES, clear, el, fmtTime, message } from './util.js';

const session = requireLogin();
const canReview = hasRole(session, 'supervisor');
if (!hasRole(session, 'supervisor', 'staff', 'admin')) {
  message($('#dashboard-message'), '监管看板仅对行政监督人员、交易中心工作人员和管理员开放', 'info');
}
const SEVERITY = { critical: ['严重', 'danger'], warning: ['警告', 'warn'], info: ['提示', ''] };

async function act(alert, verb) {
  const note = prompt(verb === 'review' ? '核查意见（可选）' : '排除理由（可选）') ?? null;
  try {
    await api(`/alerts/${alert.id}/${verb}`, { method: 'POST', body: note ? { note } : {} });
    await loadAlerts();
  } catch (exc) {
    message($('#dashboard-message'), exc.message);
  }
}

async function loadAlerts() {
  const status = $('#alert-status').value;
  try {
    const alerts = await api(`/alerts${status ? `?status=${status}` : ''}`);
    if (status === 'open') $('#kpi-alerts').textContent = String(alerts.length);
    clear($('#alert-table tbody'), alerts.map((a) => {
      const [level, tone] = SEVERITY[a.severity] || [a.severity, ''];
      return el('tr', { dataset: { alertId: a.id } },
        el('td', {}, el('span', { class: `badge ${tone}` }, level)),
        el('td', {}, a.message, el('div', { class: 'small muted' }, [a.kind, a.rule, a.subject].filter(Boolean).join(' · '),
          a.instance_id ? el('a', { href: `/instances/${encodeURIComponent(a.instance_id)}` }, ' 查看流程') : null)),
        el('td', { class: 'small' }, fmtTime(a.created_at)),
        el('td', {}, a.status === 'open' && canReview
          ? [el('button', { type: 'button', onclick: () => act(a, 'review') }, '核查'),
            el('button', { type: 'button', onclick: () => act(a, 'dismiss') }, '排除')]
          : el('span', { class: 'badge' }, STATUS_NAMES[a.status] || a.status)));
    }));
    $('#alert-empty').hidden = alerts.length > 0;
  } catch (exc) {
    message($('#dashboard-message'), exc.message);
  }
}

async function loadOverdue() {
  try {
    const tasks = await api('/deadlines/overdue');
    $('#kpi-overdue').textContent = String(tasks.length);
    clear($('#overdue-table tbody'), tasks.map((t) => el('tr', {},
      el('td', {}, el('a', { href: `/instances/${encodeURIComponent(t.instance_id)}` }, t.name),
        el('div', { class: 'small muted' }, t.process_key)),
      el('td', {}, t.business_key),
      el('td', { class: 'small' }, fmtTime(t.due_at)),
      el('td', {}, el('span', { class: 'badge overdue' }, t.overdue_hours >= 24 ? `${Math.floor(t.overdue_hours / 24)} 天` : `${t.overdue_hours} 小时`)))));
    $('#overdue-empty').hidden = tasks.length > 0;
  } catch (exc) {
    message($('#dashboard-message'), exc.message);
  }
}

function number(row, names) {
  for (const name of names) if (row[name] !== undefined && row[name] !== null) return Number(row[name]) || 0;
  return 0;
}

async function loadStatistics() {
  const group = $('#stats-group').value;
  const params = new URLSearchParams({ group_by: group });
  if ($('#stats-from').value) params.set('from', $('#stats-from').value);
  if ($('#stats-to').value) params.set('to', $('#stats-to').value);
  try {
    const answer = await api(`/statistics/trades?${params}`);
    const rows = answer.rows || itemsOf(answer);
    const label = (r) => {
      const key = r[group] ?? r.key ?? '';
      return group === 'category' ? (r.category_name || CATEGORY_NAMES[key] || key) : String(key || '未知');
    };
    const counts = rows.map((r) => ({ label: label(r), value: number(r, ['count', 'trade_count', 'trades', 'total']) }));
    const amounts = rows.map((r) => ({ label: label(r), value: number(r, ['award_amount', 'amount', 'total_amount', 'award_total']) }));
    barChart($('#chart-count'), counts, { title: '交易数（宗）' });
    barChart($('#chart-amount'), amounts, { title: '成交金额（元）', alt: true });
    const total = answer.total && answer.total.trade_count !== undefined ? answer.total.trade_count
      : counts.reduce((sum, d) => sum + d.value, 0);
    $('#kpi-trades').textContent = String(total);
    message($('#stats-message'), '');
  } catch (exc) {
    message($('#stats-message'), exc.status === 404 ? '统计服务尚未开通' : exc.message, 'info');
  }
}

$('#alert-status').addEventListener('change', loadAlerts);
for (const id of ['#stats-group', '#stats-from', '#stats-to']) $(id).addEventListener('change', loadStatistics);
loadAlerts();
loadOverdue();
loadStatistics();
