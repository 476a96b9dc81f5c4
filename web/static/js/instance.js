// A running instance: the read-only diagram (bpmn-js NavigatedViewer) with its current steps highlighted.
import { api, requireLogin } from './api.js';
import { renderDocuments } from './documents.js';
import { renderHistory } from './history.js';
import { $, ROLE_NAMES, STATUS_NAMES, clear, el, fmtTime, isOverdue, message } from './util.js';

const session = requireLogin();
const instanceId = $('#instance-page').dataset.instanceId;

function highlight(viewer, view) {
  const registry = viewer.get('elementRegistry');
  const canvas = viewer.get('canvas');
  const overlays = viewer.get('overlays');
  const current = [...view.tasks.map((t) => [t.element_id, '当前']), ...(view.timers || []).map((t) => [t.element_id, '等待'])];
  for (const [id, label] of current) {
    if (!id || !registry.get(id)) continue;
    canvas.addMarker(id, 'highlight-current');
    const note = document.createElement('div');
    note.className = 'current-overlay';
    note.textContent = label;
    overlays.add(id, 'ggzy-current', { position: { top: -12, right: 12 }, html: note });
  }
}

async function start() {
  let view;
  try {
    view = await api(`/process-instances/${encodeURIComponent(instanceId)}`);
  } catch (exc) {
    message($('#instance-message'), exc.message);
    return;
  }
  $('#instance-title').textContent = `${view.business_key} · ${view.process_key} v${view.version}`;
  clear($('#instance-status'), el('span', { class: `badge ${view.status === 'running' ? 'ok' : ''}` }, STATUS_NAMES[view.status] || view.status));
  clear($('#instance-facts'), [['流程', view.process_key], ['版本', view.version], ['业务编号', view.business_key],
    ['区域', view.region], ['交易编号', (view.variables || {}).trade_code]].filter(([, v]) => v)
    .flatMap(([k, v]) => [el('dt', {}, k), el('dd', {}, String(v))]));
  clear($('#current-steps'), view.tasks.length ? el('ul', {}, view.tasks.map((t) => el('li', { dataset: { elementId: t.element_id } },
    el('a', { href: `/inbox?task=${encodeURIComponent(t.id)}` }, t.name), ` · ${ROLE_NAMES[t.role] || t.role || ''}`,
    t.due_at ? el('span', { class: `badge ${isOverdue(t.due_at) ? 'overdue' : ''}` }, `期限 ${fmtTime(t.due_at)}`) : null)))
    : el('p', { class: 'muted' }, '没有待办步骤'));
  renderHistory($('#history'), instanceId, view.process_key);
  renderDocuments($('#documents'), instanceId, view.variables, session);
  if (!window.BpmnJS) {
    message($('#instance-message'), '流程图组件未安装（cd web && npm ci）');
    return;
  }
  const viewer = new window.BpmnJS({ container: '#canvas' });
  window.ggzyViewer = viewer;
  try {
    const xml = await api(`/process-definitions/${encodeURIComponent(view.process_key)}/xml?version=${view.version}`);
    await viewer.importXML(xml);
    viewer.get('canvas').zoom('fit-viewport', 'auto');
    highlight(viewer, view);
    document.body.dataset.diagramReady = 'true';
  } catch (exc) {
    message($('#instance-message'), `无法显示流程图：${exc.message}`);
  }
}

start();
