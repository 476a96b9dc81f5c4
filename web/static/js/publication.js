// One published item, as the public API serves it (confidential fields never reach it).
import { api } from './api.js';
import { categoryName, kindName } from './public.js';
import { $, clear, el, fmtTime, message } from './util.js';

const id = $('#publication').dataset.publicationId;

function shown(value) {
  if (value === true) return '是';
  if (value === false) return '否';
  if (Array.isArray(value)) return value.map(shown).join('、');
  if (value && typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

async function start() {
  try {
    const p = await api(`/public/publications/${encodeURIComponent(id)}`, { auth: false });
    document.title = `${p.title} · 公共资源交易平台`;
    $('#pub-title').textContent = p.title;
    $('#pub-kind').textContent = kindName(p.kind);
    clear($('#pub-facts'), [
      ['信息类别', p.kind_name || kindName(p.kind)], ['交易类别', p.category_name || categoryName(p.category)], ['行政区划', p.region],
      ['交易编号', p.trade_code ? el('a', { href: `/trades/${encodeURIComponent(p.trade_code)}` }, p.trade_code) : null],
      ['发布时间', fmtTime(p.published_at)],
    ].filter(([, v]) => v).flatMap(([k, v]) => [el('dt', {}, k), el('dd', {}, v)]));
    $('#pub-body').textContent = p.body || '';
    const labels = p.labels || {};
    const data = p.data || p.fields || {};
    clear($('#pub-data'), Object.entries(data).filter(([k]) => k !== 'title' && k !== 'body')
      .flatMap(([k, v]) => [el('dt', {}, labels[k] || k), el('dd', {}, shown(v))]));
    const box = $('#pub-superseded');
    if (p.superseded_by) {
      clear(box, '本信息已被更正，', el('a', { id: 'superseded-by', href: `/publications/${encodeURIComponent(p.superseded_by)}` }, '查看更正后的信息'));
      box.hidden = false;
    } else if (p.supersedes) {
      clear(box, '本信息更正了', el('a', { href: `/publications/${encodeURIComponent(p.supersedes)}` }, '此前发布的信息'));
      box.hidden = false;
    }
  } catch (exc) {
    $('#pub-title').textContent = '信息不存在';
    message($('#pub-message'), exc.message);
  }
}

start();
