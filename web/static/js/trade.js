// A trade's public page: its unified code, the timeline of what was published, the result.
import { api, getSession, hasRole } from './api.js';
import { categoryName, itemsOf, kindName } from './public.js';
import { $, STATUS_NAMES, clear, el, fmtTime, message } from './util.js';

const code = $('#trade').dataset.tradeCode;

async function start() {
  let trade;
  try {
    trade = await api(`/public/trades/${encodeURIComponent(code)}`, { auth: false });
  } catch (exc) {
    message($('#trade-message'), exc.status === 404 ? `交易 ${code} 不存在或尚未公开` : exc.message);
    return;
  }
  const items = itemsOf(trade).slice().sort((a, b) => String(a.published_at).localeCompare(String(b.published_at)));
  const notice = items.find((p) => p.kind === 'announcement');
  const name = trade.project_name || trade.title || (notice && notice.title) || code;
  $('#trade-title').textContent = name;
  document.title = `${name} · 公共资源交易平台`;
  clear($('#trade-facts'), [
    ['交易编号', el('strong', { id: 'trade-code' }, trade.trade_code || code)], ['交易类别', trade.category_name || categoryName(trade.category)],
    ['行政区划', trade.region], ['交易方式', trade.process_name || trade.process_key],
    ['状态', trade.status_name || STATUS_NAMES[trade.status] || trade.status], ['登记时间', fmtTime(trade.registered_at)],
  ].filter(([, v]) => v).flatMap(([k, v]) => [el('dt', {}, k), el('dd', {}, v)]));
  clear($('#trade-timeline'), items.length ? items.map((p) => el('li', { dataset: { kind: p.kind } },
    el('div', { class: 'when' }, `${fmtTime(p.published_at)} · ${p.kind_name || kindName(p.kind)}`),
    el('a', { href: `/publications/${encodeURIComponent(p.id)}` }, p.title),
    p.status === 'superseded' ? el('span', { class: 'badge warn' }, ' 已更正') : null)) : [el('li', { class: 'muted' }, '暂无公开信息')]);
  const results = items.filter((p) => p.kind === 'result');
  const result = trade.result || (results.length ? results[results.length - 1] : null);
  if (result) {
    const facts = result.data || result;
    clear($('#trade-result'), el('dl', { class: 'facts' }, [
      ['结果', result.title], ['中标/成交单位', facts.winner_name], ['金额（元）', facts.award_amount],
      ['公布时间', fmtTime(result.published_at)],
    ].filter(([, v]) => v).flatMap(([k, v]) => [el('dt', {}, k), el('dd', {}, String(v))])));
  }
  if (trade.instance_id && hasRole(getSession(), 'bidder')) {
    const link = $('#bid-link');
    link.querySelector('a').href = `/bids/${encodeURIComponent(trade.instance_id)}`;
    link.hidden = false;
  }
}

start();
