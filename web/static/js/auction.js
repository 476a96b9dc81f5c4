// The live auction: price, countdown on the server's clock, my paddle and standing, bids by paddle, bid form, result.
// Updates come by long polling the events endpoint with the Authorization header (EventSource cannot send it,
// and a token in a URL would end up in logs), reconnecting with backoff and stopping once the auction closed.
import { ApiError, api, hasRole, requireLogin } from './api.js';
import { capital, compareYuan, fmtYuan, parseYuan } from './money.js';
import { $, clear, el, message } from './util.js';

const session = requireLogin();
const auctionId = $('#auction-page').dataset.auctionId;
const base = `/auctions/${encodeURIComponent(auctionId)}`;
const WAIT_SECONDS = 20;
const MAX_BACKOFF_MS = 30000;
const PHASES = { scheduled: '未开始', free_quote: '自由报价期', open: '竞价中', closing: '等待截止确认', closed: '已结束' };
const OUTCOMES = { sold: '成交', no_sale: '未达底价', no_bids: '流拍' };
const offsetMinutes = Number(document.body.dataset.tzOffset || 480);

let state = null;        // the latest auction view
let lastSeq = 0;         // the last event seq applied
let skew = 0;            // server time minus browser time, from the latest answer
let stopped = false;
let pending = null;      // the amount awaiting confirmation
const seen = new Set();  // bid seqs already in the history table

const serverNow = () => Date.now() + skew;

/** 2026-10-10 09:30:05 in the platform's zone. */
function fmtSeconds(iso) {
  const ms = Date.parse(iso || '');
  if (Number.isNaN(ms)) return '—';
  const s = new Date(ms + offsetMinutes * 60000).toISOString();
  return `${s.slice(0, 10)} ${s.slice(11, 19)}`;
}

function duration(ms) {
  const total = Math.max(0, Math.floor(ms / 1000));
  const days = Math.floor(total / 86400);
  const hms = [Math.floor((total % 86400) / 3600), Math.floor((total % 3600) / 60), total % 60]
    .map((n) => String(n).padStart(2, '0')).join(':');
  return days ? `${days}天 ${hms}` : hms;
}

function syncClock(serverTime) {
  const ms = Date.parse(serverTime || '');
  if (!Number.isNaN(ms)) skew = ms - Date.now();
}

/** The phase now, on the server's clock: the countdown moves on between answers. */
function phaseNow(a) {
  if (a.status === 'closed') return 'closed';
  const now = serverNow();
  if (now < Date.parse(a.starts_at)) return 'scheduled';
  if (now >= Date.parse(a.closes_at)) return 'closing';
  if (a.free_quote_until && now < Date.parse(a.free_quote_until)) return 'free_quote';
  return 'open';
}

function tick() {
  if (!state) return;
  const phase = phaseNow(state);
  const targets = { scheduled: ['距开始', state.starts_at], free_quote: ['距自由报价期结束', state.free_quote_until],
    open: ['距截止', state.closes_at] };
  if (targets[phase]) {
    $('#countdown-label').textContent = targets[phase][0];
    $('#countdown').textContent = duration(Date.parse(targets[phase][1]) - serverNow());
  } else {
    $('#countdown-label').textContent = phase === 'closed' ? '状态' : '距截止';
    $('#countdown').textContent = phase === 'closed' ? '已结束' : '已截止，等待确认结果';
  }
  $('#countdown').dataset.phase = phase;
  const badge = $('#phase-badge');
  if (badge) badge.textContent = PHASES[phase];
}

function facts(a) {
  const rows = [['竞价方式', a.kind_name], ['起始价', `${fmtYuan(a.start_price)} 元`],
    ['加价幅度', `${fmtYuan(a.increment)} 元`]];
  if (a.status !== 'closed') rows.push(['下一最低报价', el('strong', { id: 'minimum-bid' }, `${fmtYuan(a.minimum_bid)} 元`)]);
  rows.push(['开始时间', fmtSeconds(a.starts_at)]);
  if (a.free_quote_until) rows.push(['自由报价截止', fmtSeconds(a.free_quote_until)]);
  rows.push([a.status === 'closed' ? '截止时间' : '当前截止时间', el('span', { id: 'closes-at' }, fmtSeconds(a.closes_at))]);
  if (a.quiet_seconds) rows.push(['无人加价', `${a.quiet_seconds} 秒内无更高报价即截止`]);
  if (a.extend_window_seconds && a.extend_seconds) {
    rows.push(['延时规则', `截止前 ${Math.round(a.extend_window_seconds / 60)} 分钟内有报价的，截止时间延至该报价后 ${Math.round(a.extend_seconds / 60)} 分钟`]);
  }
  rows.push(['底价', a.has_reserve ? '设有底价（不公开）' : '未设底价'], ['报价次数', String(a.bid_count)]);
  return rows.flatMap(([k, v]) => [el('dt', {}, k), el('dd', {}, v)]);
}

function standing(a) {
  const me = a.me;
  if (!me) return el('span', { class: 'muted small' }, hasRole(session, 'bidder') ? '尚未取得竞买号' : '非竞买人');
  if (a.status === 'closed') {
    const won = a.result && a.result.outcome === 'sold' && a.result.winner_paddle === me.paddle;
    return el('span', { class: `badge ${won ? 'ok' : ''}`, id: 'standing' }, won ? '已竞得' : '未竞得');
  }
  if (me.leading) return el('span', { class: 'badge ok', id: 'standing' }, '领先');
  if (me.my_highest) return el('span', { class: 'badge danger', id: 'standing' }, '已被超越');
  return el('span', { class: 'badge', id: 'standing' }, '尚未出价');
}

function renderResult(a) {
  const r = a.result;
  $('#result-panel').hidden = !r;
  if (!r) return;
  const items = [el('span', { class: `badge ${r.outcome === 'sold' ? 'ok' : 'danger'}`, id: 'result-outcome' },
    OUTCOMES[r.outcome] || r.outcome_name || r.outcome)];
  if (r.outcome === 'sold') {
    items.push(el('p', {}, `成交价 ${fmtYuan(r.award_amount)} 元（${capital(r.award_amount)}），竞得人竞买号 ${r.winner_paddle}`));
    if (a.me && a.me.paddle === r.winner_paddle) items.push(el('p', { class: 'message ok' }, '您已竞得，请按公告约定签订成交确认书。'));
  } else if (r.outcome === 'no_sale') {
    // Whether the reserve was met, never its figure.
    items.push(el('p', {}, `最高报价 ${fmtYuan(a.current_price)} 元未达到底价，本次竞价未成交。`));
  } else {
    items.push(el('p', {}, '无人报价，本次竞价流拍。'));
  }
  if (a.kind === 'listing' && r.continue_count >= 2) {
    items.push(el('p', {}, `${r.continue_count} 名竞买人申请现场竞价，转入现场竞价。`,
      el('a', { href: `/auctions?instance=${encodeURIComponent(a.instance_id)}` }, '查看本交易的竞价')));
  }
  items.push(el('p', { class: 'small muted' }, `结束时间 ${fmtSeconds(r.closed_at)}`));
  clear($('#result'), items);
}

function render(a) {
  if (state && a.seq < state.seq) return;  // an older answer arriving late changes nothing
  state = a;
  syncClock(a.server_time);
  $('#auction-title').textContent = `${a.kind_name} · 竞价 ${a.id}${a.lot && a.lot !== '1' ? ` · 标段 ${a.lot}` : ''}`;
  clear($('#auction-badges'), el('span', { class: 'badge', id: 'kind-badge' }, a.kind_name), ' ',
    el('span', { class: `badge ${a.status === 'closed' ? '' : 'ok'}`, id: 'phase-badge' }, PHASES[a.phase] || a.phase));
  $('#current-price').textContent = a.current_price ? fmtYuan(a.current_price) : '暂无报价';
  $('#leader-line').textContent = a.leader_paddle ? `最高报价竞买号 ${a.leader_paddle}` : `起始价 ${fmtYuan(a.start_price)} 元`;
  $('#close-line').textContent = `截止 ${fmtSeconds(a.closes_at)}`;
  $('#my-paddle').textContent = a.me ? a.me.paddle : '—';
  clear($('#my-standing'), standing(a));
  clear($('#auction-facts'), facts(a));
  if (a.previous_id) {
    $('#link-line').hidden = false;
    clear($('#link-line'), '本场现场竞价承接挂牌竞价 ', el('a', { href: `/auctions/${a.previous_id}` }, `#${a.previous_id}`));
  }
  const open = a.status !== 'closed';
  $('#bid-panel').hidden = !(open && hasRole(session, 'bidder'));
  $('#bid-hint').textContent = open ? `最低 ${fmtYuan(a.minimum_bid)} 元，须为起始价或当前价加 ${fmtYuan(a.increment)} 元的整数倍` : '';
  const canContinue = open && a.kind === 'listing' && a.me && a.me.my_highest;
  $('#continue-box').hidden = !canContinue;
  if (canContinue) {
    $('#continue-button').disabled = !!a.me.continue_requested;
    $('#continue-button').textContent = a.me.continue_requested ? '已申请参加现场竞价' : '申请参加现场竞价';
  }
  if (!open) hideConfirm();
  renderResult(a);
  tick();
}

function addBids(events) {
  const body = $('#history-table tbody');
  for (const e of events) {
    if (e.type !== 'bid' || seen.has(e.seq)) continue;
    seen.add(e.seq);
    const row = el('tr', { dataset: { seq: e.seq, paddle: e.paddle }, class: e.mine ? 'mine' : '' },
      el('td', {}, String(e.seq)), el('td', {}, e.mine ? `${e.paddle}（我）` : e.paddle),
      el('td', {}, fmtYuan(e.amount)), el('td', { class: 'small' }, fmtSeconds(e.at)));
    // Newest first: find the first row with a lower seq.
    const after = [...body.children].find((tr) => Number(tr.dataset.seq) < e.seq);
    body.insertBefore(row, after || null);
  }
  $('#history-empty').hidden = body.children.length > 0;
}

function feedStatus(text) {
  $('#feed-status').textContent = text;
}

const sleep = (ms) => new Promise((resolve) => { setTimeout(resolve, ms); });

async function follow() {
  let backoff = 1000;
  let wait = 0;  // the first call answers at once with the state and every bid so far
  while (!stopped) {
    try {
      const out = await api(`${base}/events?after=${lastSeq}&wait=${wait}`);
      addBids(out.events || []);
      lastSeq = Math.max(lastSeq, out.last_seq || 0);
      render(out.auction);
      backoff = 1000;
      wait = WAIT_SECONDS;
      if (out.auction.status === 'closed' && !out.more) {
        feedStatus('竞价已结束');
        stopped = true;
        break;
      }
      feedStatus('实时更新中');
      if (out.retry_after) await sleep(out.retry_after * 1000);  // the server's followers are all busy
    } catch (exc) {
      if (exc instanceof ApiError && [401, 403, 404].includes(exc.status)) {
        message($('#auction-message'), exc.status === 401 ? '登录已失效，请重新登录' : exc.message);
        feedStatus('');
        stopped = true;
        break;
      }
      const delay = Math.round(backoff * (0.8 + Math.random() * 0.4));
      feedStatus(`连接中断，${Math.ceil(delay / 1000)} 秒后重新连接…`);
      await sleep(delay);
      backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
    }
  }
}

function hideConfirm() {
  pending = null;
  $('#bid-confirm').hidden = true;
}

$('#fill-minimum').addEventListener('click', () => {
  if (state && state.minimum_bid) $('#bid-amount').value = state.minimum_bid;
  $('#bid-amount').focus();
});

$('#bid-form').addEventListener('submit', (event) => {
  event.preventDefault();
  message($('#bid-message'), '');
  const amount = parseYuan($('#bid-amount').value);
  if (amount === null) {
    hideConfirm();
    message($('#bid-message'), '请输入正确的报价金额（元，最多两位小数）');
    return;
  }
  pending = amount;
  $('#confirm-amount').textContent = fmtYuan(amount);
  $('#confirm-capital').textContent = capital(amount);
  const low = state && state.minimum_bid && compareYuan(amount, state.minimum_bid) < 0;
  $('#confirm-note').textContent = low ? `注意：低于当前最低报价 ${fmtYuan(state.minimum_bid)} 元` : '报价一经确认即不可撤回。';
  $('#bid-confirm').hidden = false;
  $('#confirm-bid').focus();
});

$('#cancel-bid').addEventListener('click', hideConfirm);

$('#confirm-bid').addEventListener('click', async () => {
  if (!pending) return;
  const amount = pending;
  const button = $('#confirm-bid');
  button.disabled = true;
  try {
    const bid = await api(`${base}/bids`, { method: 'POST', body: { amount } });
    syncClock(bid.at);
    addBids([bid]);
    $('#bid-amount').value = '';
    message($('#bid-message'), `出价成功：竞买号 ${bid.paddle}，报价 ${fmtYuan(bid.amount)} 元（服务器时间 ${fmtSeconds(bid.at)}）`, 'ok');
  } catch (exc) {
    // 422 (below the minimum, off the increment), 403 (not qualified), 409 (not open, closed, already leading).
    message($('#bid-message'), exc.message);
  } finally {
    button.disabled = false;
    hideConfirm();
  }
});

$('#continue-button').addEventListener('click', async () => {
  try {
    await api(`${base}/continue`, { method: 'POST' });
    message($('#bid-message'), '已申请参加现场竞价', 'ok');
    render(await api(base));
  } catch (exc) {
    message($('#bid-message'), exc.message);
  }
});

setInterval(tick, 250);
follow();
