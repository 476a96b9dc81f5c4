// A form rendered from a task's JSON Schema; the API's 422 field errors (JSON pointers) are shown in place.
import { el, isoToLocal, localToIso } from './util.js';

const LONG_TEXT = 200;

function pointer(path) {
  return path.length ? `/${path.map((p) => String(p).replaceAll('~', '~0').replaceAll('/', '~1')).join('/')}` : '';
}

function inputId(path) {
  return `field-${path.join('-')}`;
}

function fieldShell(path, schema, required, control) {
  const title = schema.title || path[path.length - 1];
  const label = el('label', { class: 'title', for: control.id || undefined }, title, required ? el('span', { class: 'req' }, '*') : null);
  const help = schema.description ? el('div', { class: 'help' }, schema.description) : null;
  return el('div', { class: 'field', dataset: { field: pointer(path) } }, label, control, help,
    el('div', { class: 'field-error', role: 'alert', hidden: true }));
}

/** One control for a property; returns [node, read] where read() gives the value or undefined to omit it. */
function control(path, schema, required, value) {
  const id = inputId(path);
  const type = Array.isArray(schema.type) ? schema.type.find((t) => t !== 'null') : schema.type;
  if (Array.isArray(schema.enum)) {
    const select = el('select', { id, name: path.join('.') },
      required ? null : el('option', { value: '' }, '（请选择）'),
      schema.enum.map((v, i) => el('option', { value: String(i), selected: value === v }, String(v))));
    if (required && value === undefined) select.insertBefore(el('option', { value: '', selected: true, disabled: true }, '（请选择）'), select.firstChild);
    return [select, () => (select.value === '' ? undefined : schema.enum[Number(select.value)])];
  }
  if (type === 'boolean') {
    const box = el('input', { id, type: 'checkbox', name: path.join('.'), checked: value === true });
    return [box, () => box.checked];
  }
  if (type === 'integer' || type === 'number') {
    const input = el('input', {
      id, type: 'number', name: path.join('.'), step: type === 'integer' ? '1' : 'any',
      value: value === undefined || value === null ? '' : String(value),
    });
    return [input, () => (input.value === '' ? undefined : Number(input.value))];
  }
  if (type === 'array' && schema.items && schema.items.type === 'string' && !schema.items.enum) {
    const area = el('textarea', { id, name: path.join('.'), placeholder: '每行一项' });
    area.value = Array.isArray(value) ? value.join('\n') : '';
    return [area, () => {
      const items = area.value.split('\n').map((s) => s.trim()).filter(Boolean);
      return items.length || required ? items : undefined;
    }];
  }
  if (type === 'array' && schema.items && Array.isArray(schema.items.enum)) {
    const chosen = new Set(Array.isArray(value) ? value : []);
    const boxes = schema.items.enum.map((v) => el('input', { type: 'checkbox', value: String(v), checked: chosen.has(v) }));
    const group = el('div', { id, class: 'row' }, boxes.map((b, i) => el('label', {}, b, ` ${schema.items.enum[i]}`)));
    return [group, () => schema.items.enum.filter((_, i) => boxes[i].checked)];
  }
  if (type === 'string' || type === undefined && !schema.properties) {
    if (schema.format === 'date') {
      const input = el('input', { id, type: 'date', name: path.join('.'), value: value || '' });
      return [input, () => input.value || undefined];
    }
    if (schema.format === 'date-time') {
      const input = el('input', { id, type: 'datetime-local', name: path.join('.'), value: isoToLocal(value) });
      return [input, () => (input.value ? localToIso(input.value) : undefined)];
    }
    const long = !schema.maxLength || schema.maxLength > LONG_TEXT;
    const attrs = { id, name: path.join('.'), maxlength: schema.maxLength || undefined };
    const input = long ? el('textarea', attrs) : el('input', { ...attrs, type: schema.format === 'email' ? 'email' : 'text' });
    input.value = value === undefined || value === null ? '' : String(value);
    return [input, () => (input.value.trim() === '' ? undefined : input.value)];
  }
  // Anything richer (arrays of objects, nested combinators): edit as JSON, still checked by the server.
  const area = el('textarea', { id, name: path.join('.'), class: 'json', placeholder: 'JSON' });
  area.value = value === undefined ? '' : JSON.stringify(value, null, 2);
  return [area, () => {
    if (area.value.trim() === '') return undefined;
    try { return JSON.parse(area.value); } catch { return area.value; }
  }];
}

function objectFields(path, schema, values, readers) {
  const required = new Set(schema.required || []);
  const nodes = [];
  for (const [name, sub] of Object.entries(schema.properties || {})) {
    if (!sub || typeof sub !== 'object' || sub.readOnly) continue;
    const here = [...path, name];
    const value = values && values[name] !== undefined ? values[name] : sub.default;
    if (sub.type === 'object' && sub.properties) {
      const inner = [];
      const nested = objectFields(here, sub, value || {}, inner);
      readers.push([here, () => {
        const out = {};
        for (const [p, read] of inner) { const v = read(); if (v !== undefined) out[p[p.length - 1]] = v; }
        return out;
      }]);
      nodes.push(el('fieldset', { class: 'field', dataset: { field: pointer(here) } }, el('legend', {}, sub.title || name),
        nested, el('div', { class: 'field-error', role: 'alert', hidden: true })));
      continue;
    }
    const [node, read] = control(here, sub, required.has(name), value);
    readers.push([here, read]);
    nodes.push(fieldShell(here, sub, required.has(name), node));
  }
  return nodes;
}

/** Render schema into container; returns {collect, showErrors, clearErrors}. */
export function renderForm(container, schema, values = {}) {
  const readers = [];
  const general = el('div', { class: 'message error form-errors', role: 'alert', hidden: true });
  const form = el('div', { class: 'schema-form' },
    schema.description ? el('p', { class: 'form-description' }, schema.description) : null,
    general, objectFields([], schema, values, readers));
  container.replaceChildren(form);

  function clearErrors() {
    general.hidden = true;
    general.replaceChildren();
    for (const field of form.querySelectorAll('.field')) {
      field.classList.remove('has-error');
      const slot = field.querySelector(':scope > .field-error');
      if (slot) { slot.hidden = true; slot.textContent = ''; }
    }
  }

  /** Put each {field, message} under its control (or its nearest enclosing one); the rest above the form. */
  function showErrors(errors, fallback) {
    clearErrors();
    const loose = [];
    for (const error of errors || []) {
      const parts = String(error.field || '').split('/').filter(Boolean);
      let field = null;
      while (!field && parts.length) {
        field = form.querySelector(`.field[data-field="${CSS.escape(`/${parts.join('/')}`)}"]`);
        parts.pop();
      }
      if (!field) { loose.push(error.message || String(error)); continue; }
      field.classList.add('has-error');
      const slot = field.querySelector(':scope > .field-error');
      slot.textContent = slot.textContent ? `${slot.textContent}；${error.message}` : error.message;
      slot.hidden = false;
    }
    if (!errors || !errors.length) loose.push(fallback || '提交失败');
    else if (fallback && loose.length === 0) general.append(fallback);
    if (loose.length) general.append(loose.join('；'));
    general.hidden = general.textContent === '';
    const first = form.querySelector('.has-error input, .has-error select, .has-error textarea');
    if (first) first.focus();
  }

  function collect() {
    const data = {};
    for (const [path, read] of readers) {
      const value = read();
      if (value !== undefined) data[path[path.length - 1]] = value;
    }
    return data;
  }

  return { collect, showErrors, clearErrors, element: form };
}
