// A trade's auctions the signed-in user may follow (participants, organisers of the region): links to each.
import { api, requireLogin } from './api.js';
import { fmtYuan } from './money.js';
import { $, clear, el, fmtTime, message } from './util.js';

requireLogin();
const STATUS = { open: '竞价中', closed: '已结束' };

async function load(instanceId) {
  message($('#auctions-message'), '');
  $('#auctions-table').hidden = true;
  $('#auctions-empty').hidden = true;
  try {
    const rows = await api(`/process-instances/${encodeURIComponent(instanceId)}/auctions`);
    clear($('#auctions-table tbody'), rows.map((a) => el('tr', { dataset: { auctionId: a.id } },
      el('td', {}, el('a', { href: `/auctions/${a.id}` }, `竞价 ${a.id}`)), el('td', {}, a.kind_name),
      el('td', {}, el('span', { class: `badge ${a.status === 'open' ? 'ok' : ''}` }, STATUS[a.status] || a.status)),
      el('td', {}, a.current_price ? fmtYuan(a.current_price) : '暂无报价'), el('td', {}, fmtTime(a.closes_at)),
      el('td', {}, a.me ? a.me.paddle : '—'))));
    $('#auctions-table').hidden = rows.length === 0;
    $('#auctions-empty').hidden = rows.length > 0;
  } catch (exc) {
    message($('#auctions-message'), exc.message);
  }
}

const initial = new URLSearchParams(location.search).get('instance') || '';
$('#auctions-instance').value = initial;
$('#auctions-goto').addEventListener('submit', (event) => {
  event.preventDefault();
  const id = $('#auctions-instance').value.trim();
  if (id) location.href = `/auctions?instance=${encodeURIComponent(id)}`;
});
if (initial) load(initial);
