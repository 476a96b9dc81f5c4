// The BPMN modeler (bpmn-js, served from web/node_modules): open a deployed process, edit, validate, deploy.
import { api, ApiError, hasRole, requireLogin } from './api.js';
import { $, clear, el, message } from './util.js';

const session = requireLogin();
const notice = $('#modeler-message');
const errorList = $('#error-list');

const NEW_DIAGRAM = `<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" xmlns:dc="http://www.omg.org/spec/DD/20100524/DC"
  xmlns:camunda="http://camunda.org/schema/1.0/bpmn" xmlns:ggzy="urn:ggzy:bpmn"
  id="Definitions_new" targetNamespace="urn:ggzy:processes">
  <bpmn:process id="new_process" name="新流程" isExecutable="true">
    <bpmn:startEvent id="StartEvent_1" name="开始"/>
  </bpmn:process>
  <bpmndi:BPMNDiagram id="BPMNDiagram_1">
    <bpmndi:BPMNPlane id="BPMNPlane_1" bpmnElement="new_process">
      <bpmndi:BPMNShape id="StartEvent_1_di" bpmnElement="StartEvent_1">
        <dc:Bounds x="180" y="160" width="36" height="36"/>
      </bpmndi:BPMNShape>
    </bpmndi:BPMNPlane>
  </bpmndi:BPMNDiagram>
</bpmn:definitions>`;

if (!window.BpmnJS) {
  message(notice, '建模器资源未安装：请运行 make venv（或 cd web && npm ci）后刷新页面。');
  throw new Error('bpmn-js is not loaded');
}
if (!hasRole(session, 'designer', 'admin')) {
  message(notice, '只有流程设计人员或管理员可以部署流程；您可以查看和校验。', 'info');
}

const modeler = new window.BpmnJS({ container: '#canvas', keyboard: { bindTo: document } });
window.ggzyModeler = modeler; // for the console and the browser tests
let marked = [];
const latest = {};

function clearProblems() {
  const canvas = modeler.get('canvas');
  modeler.get('overlays').remove({ type: 'ggzy-error' });
  for (const id of marked) canvas.removeMarker(id, 'has-error');
  marked = [];
  errorList.hidden = true;
  clear(errorList);
}

/** Each {element_id, message} as a marker and a note on its element; the rest in the list above. */
function showProblems(errors) {
  clearProblems();
  const registry = modeler.get('elementRegistry');
  const overlays = modeler.get('overlays');
  const canvas = modeler.get('canvas');
  const byElement = new Map();
  const items = [];
  for (const error of errors) {
    const element = error.element_id ? registry.get(error.element_id) : null;
    const label = element ? (element.businessObject.name || error.element_id) : (error.element_id || '整个流程');
    items.push(el('li', {
      dataset: { elementId: error.element_id || '' },
      onclick: () => element && modeler.get('selection').select(element),
    }, el('strong', {}, label), '：', error.message));
    if (!element) continue;
    byElement.set(element.id, [...(byElement.get(element.id) || []), error.message]);
  }
  for (const [id, messages] of byElement) {
    canvas.addMarker(id, 'has-error');
    marked.push(id);
    const note = document.createElement('div');
    note.className = 'error-overlay';
    note.dataset.elementId = id;
    note.textContent = messages.join('；');
    overlays.add(id, 'ggzy-error', { position: { bottom: -6, left: 0 }, html: note });
  }
  clear(errorList, el('div', {}, `未通过部署检查（${errors.length} 处）：`), el('ul', {}, items));
  errorList.hidden = false;
}

async function load(xml) {
  clearProblems();
  await modeler.importXML(xml);
  modeler.get('canvas').zoom('fit-viewport', 'auto');
  showProperties(null);
}

async function currentXml() {
  const { xml } = await modeler.saveXML({ format: true });
  return xml;
}

async function openProcess(key) {
  message(notice, '');
  try {
    const xml = await api(`/process-definitions/${encodeURIComponent(key)}/xml`);
    await load(xml);
    message(notice, `已打开 ${key}（最新版本）`, 'info');
    history.replaceState(null, '', `?key=${encodeURIComponent(key)}`);
  } catch (exc) {
    message(notice, exc.message);
  }
}

async function validate() {
  message(notice, '');
  try {
    const result = await api('/process-definitions/validate', {
      method: 'POST', body: await currentXml(), headers: { 'Content-Type': 'application/xml' },
    });
    if (result.valid) {
      clearProblems();
      message(notice, `校验通过：${result.name || result.key}`, 'ok');
    } else {
      showProblems(result.errors || []);
      message(notice, result.message || '未通过部署检查');
    }
  } catch (exc) {
    message(notice, exc.message);
  }
}

async function deploy() {
  message(notice, '');
  notice.dataset.result = 'pending';
  try {
    const out = await api('/process-definitions', {
      method: 'POST', body: await currentXml(), headers: { 'Content-Type': 'application/xml' },
    });
    clearProblems();
    message(notice, latest[out.key] === out.version ? `内容未变化：${out.key} 仍为第 ${out.version} 版`
      : `已部署 ${out.key} 第 ${out.version} 版`, 'ok');
    notice.dataset.result = `deployed-${out.version}`;
    await loadList(out.key);
  } catch (exc) {
    if (exc instanceof ApiError && exc.status === 422 && exc.errors.length) showProblems(exc.errors);
    message(notice, exc.message);
    notice.dataset.result = 'refused';
  }
}

async function loadList(selected) {
  try {
    const list = await api('/process-definitions');
    for (const d of list) latest[d.key] = d.version;
    const select = $('#process-select');
    clear(select, el('option', { value: '' }, '选择已部署的流程…'),
      list.map((d) => el('option', { value: d.key, selected: d.key === selected }, `${d.name || d.key}（${d.key} v${d.version}）`)));
  } catch (exc) {
    message(notice, exc.message);
  }
}

// --- a small properties panel: the attributes the platform reads (CONTRACT.md, "BPMN conventions") --------

const PROPS = {
  name: '#prop-name', 'camunda:candidateGroups': '#prop-role', 'camunda:formKey': '#prop-form',
  'ggzy:rule': '#prop-rule', 'ggzy:service': '#prop-service', 'ggzy:publish': '#prop-publish',
};
const APPLIES = {
  'camunda:candidateGroups': ['bpmn:UserTask', 'bpmn:ManualTask'],
  'camunda:formKey': ['bpmn:UserTask', 'bpmn:StartEvent'],
  'ggzy:rule': ['bpmn:UserTask', 'bpmn:IntermediateCatchEvent', 'bpmn:BoundaryEvent'],
  'ggzy:service': ['bpmn:ServiceTask'],
  'ggzy:publish': ['bpmn:UserTask', 'bpmn:ServiceTask'],
};
let selected = null;

function attr(bo, name) {
  return name === 'name' ? bo.name || '' : bo.get ? bo.get(name) || (bo.$attrs || {})[name] || '' : '';
}

function showProperties(element) {
  selected = element && element.type !== 'label' ? element : null;
  $('#properties-form').hidden = !selected;
  $('#properties-empty').hidden = !!selected;
  if (!selected) return;
  const bo = selected.businessObject;
  $('#prop-type').textContent = selected.type.replace('bpmn:', '');
  $('#prop-id').textContent = bo.id;
  for (const [name, selector] of Object.entries(PROPS)) {
    const applies = !APPLIES[name] || APPLIES[name].includes(selected.type);
    document.querySelector(`[data-prop="${name}"]`).hidden = !applies;
    $(selector).value = applies ? attr(bo, name) : '';
  }
}

$('#properties-form').addEventListener('submit', (event) => {
  event.preventDefault();
  if (!selected) return;
  const changes = {};
  for (const [name, selector] of Object.entries(PROPS)) {
    if (document.querySelector(`[data-prop="${name}"]`).hidden) continue;
    const value = $(selector).value.trim();
    if (value !== attr(selected.businessObject, name)) changes[name] = value || undefined;
  }
  if (Object.keys(changes).length) modeler.get('modeling').updateProperties(selected, changes);
});

modeler.on('selection.changed', ({ newSelection }) => showProperties(newSelection.length === 1 ? newSelection[0] : null));
modeler.on('element.changed', ({ element }) => { if (selected && element.id === selected.id) showProperties(element); });

$('#open-button').addEventListener('click', () => {
  const key = $('#process-select').value;
  if (key) openProcess(key);
});
$('#new-button').addEventListener('click', () => load(NEW_DIAGRAM));
$('#validate-button').addEventListener('click', validate);
$('#deploy-button').addEventListener('click', deploy);
$('#download-button').addEventListener('click', async () => {
  const link = el('a', { href: URL.createObjectURL(new Blob([await currentXml()], { type: 'application/xml' })), download: 'process.bpmn' });
  link.click();
});
$('#import-file').addEventListener('change', async (event) => {
  const file = event.target.files[0];
  if (!file) return;
  try { await load(await file.text()); } catch (exc) { message(notice, `无法读取该文件：${exc.message}`); }
});

const key = new URLSearchParams(location.search).get('key');
await loadList(key);
if (key) await openProcess(key);
else await load(NEW_DIAGRAM);
document.body.dataset.modelerReady = 'true';
