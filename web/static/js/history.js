// An instance's audit trail (GET /process-instances/{id}/events), newest first.
import { api } from './api.js';
import { EVENT_NAMES, clear, el, fmtTime } from './util.js';

function summary(event) {
  const data = event.data || {};
  const bits = [];
  if (data.name) bits.push(data.name);
  else if (data.element_id) bits.push(data.element_id);
  if (data.receipt_no) bits.push(`回执 ${data.receipt_no}`);
  if (data.reason) bits.push(data.reason);
  return bits.join(' · ');
}

const elementNames = new Map();

/** Element id → name of a process's latest version (the definition's metadata), fetched once per key. */
async function namesOf(processKey) {
  if (!processKey) return {};
  if (!elementNames.has(processKey)) {
    elementNames.set(processKey, api(`/process-definitions/${encodeURIComponent(processKey)}`)
      .then((d) => Object.fromEntries(Object.entries(d.elements || {}).map(([id, e]) => [id, e.name || id])))
      .catch(() => ({})));
  }
  return elementNames.get(processKey);
}

export async function renderHistory(container, instanceId, processKey) {
  clear(container, el('p', { class: 'muted' }, '加载中…'));
  try {
    const [events, names] = await Promise.all([
      api(`/process-instances/${encodeURIComponent(instanceId)}/events`), namesOf(processKey)]);
    const items = events.slice().reverse().map((event) => {
      const data = event.data || {};
      const label = names[data.element_id] ? `${names[data.element_id]}` : summary(event);
      return el('li', { dataset: { type: event.type } },
        el('div', { class: 'when' }, `${fmtTime(event.at)} · ${event.actor || '系统'}`),
        el('div', {}, EVENT_NAMES[event.type] || event.type, label ? el('span', { class: 'muted' }, ` ${label}`) : null));
    });
    clear(container, items.length ? el('ol', { class: 'timeline' }, items) : el('p', { class: 'muted' }, '暂无记录'));
  } catch (exc) {
    clear(container, el('p', { class: 'muted' }, exc.message));
  }
}
