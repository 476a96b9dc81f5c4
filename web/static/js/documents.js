// The documents of an instance: sealed-bid receipts (own, or the list after the deadline) and publications.
import { api, hasRole } from './api.js';
import { CATEGORY_NAMES, KIND_NAMES, clear, el, fmtTime } from './util.js';

async function bidDocuments(instanceId, session) {
  const id = encodeURIComponent(instanceId);
  if (hasRole(session, 'bidder')) {
    const mine = await api(`/trades/${id}/bids/mine`);
    return (mine.receipts || []).map((r) => el('li', {},
      `投标文件回执 ${r.receipt_no}`, el('span', { class: 'badge' }, r.status_name || r.status),
      el('div', { class: 'small muted' }, `${fmtTime(r.received_at)} · ${r.size} 字节 · SHA-256 ${String(r.sha256).slice(0, 12)}…`)));
  }
  const list = await api(`/trades/${id}/bids`);
  return (list.bids || []).map((b) => el('li', {},
    `投标文件 ${b.receipt_no || ''} ${b.bidder_name || b.bidder_org || ''}`,
    el('span', { class: 'badge' }, b.status_name || b.status || '')));
}

async function publications(tradeCode) {
  const trade = await api(`/public/trades/${encodeURIComponent(tradeCode)}`, { auth: false });
  const items = trade.publications || trade.timeline || [];
  return items.map((p) => el('li', {},
    el('a', { href: `/publications/${encodeURIComponent(p.id)}` }, p.title || KIND_NAMES[p.kind] || p.kind),
    el('div', { class: 'small muted' }, `${KIND_NAMES[p.kind] || p.kind || ''} · ${fmtTime(p.published_at)}`)));
}

export async function renderDocuments(container, instanceId, variables, session) {
  const sections = [];
  const code = variables && variables.trade_code;
  if (code) {
    sections.push(el('p', {}, '交易编号 ', el('a', { href: `/trades/${encodeURIComponent(code)}` }, code),
      variables.trade_category ? ` · ${CATEGORY_NAMES[variables.trade_category] || variables.trade_category}` : ''));
    try {
      const items = await publications(code);
      if (items.length) sections.push(el('h3', {}, '已发布信息'), el('ul', { class: 'pub-list stacked' }, items));
    } catch { /* nothing published yet, or the portal is not deployed here */ }
  }
  if (variables && variables.bid_deadline) {
    try {
      const items = await bidDocuments(instanceId, session);
      sections.push(el('h3', {}, '电子投标文件'), items.length ? el('ul', { class: 'pub-list stacked' }, items)
        : el('p', { class: 'muted' }, '暂无投标文件'));
    } catch (exc) {
      // Before the deadline only bidders see their own receipts; say why instead of failing.
      sections.push(el('h3', {}, '电子投标文件'), el('p', { class: 'muted small' }, exc.message));
    }
  }
  clear(container, sections.length ? sections : [el('p', { class: 'muted' }, '暂无相关文件')]);
}
