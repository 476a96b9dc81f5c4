// Shared by the portal pages: the public API's items, whatever list envelope it answers with.
import { CATEGORY_NAMES, KIND_NAMES, el, fmtDate } from './util.js';

export function itemsOf(answer) {
  if (Array.isArray(answer)) return answer;
  return (answer && (answer.items || answer.publications || answer.results || answer.timeline)) || [];
}

export function kindName(kind) {
  return KIND_NAMES[kind] || kind || '';
}

export function categoryName(category) {
  return CATEGORY_NAMES[category] || category || '';
}

export function publicationRow(p) {
  return el('li', { dataset: { publicationId: p.id, kind: p.kind } },
    el('span', { class: `badge ${p.kind === 'result' ? 'ok' : ''}` }, p.kind_name || kindName(p.kind)),
    el('a', { class: 'title', href: `/publications/${encodeURIComponent(p.id)}` }, p.title),
    p.status === 'superseded' ? el('span', { class: 'badge warn' }, '已更正') : null,
    p.trade_code ? el('a', { class: 'small', href: `/trades/${encodeURIComponent(p.trade_code)}` }, p.trade_code) : null,
    el('span', { class: 'muted small' }, [p.category_name || categoryName(p.category), p.region, fmtDate(p.published_at)].filter(Boolean).join(' · ')));
}
