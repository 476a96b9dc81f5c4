// A bidder's sealed bid: encrypt in the browser (WebCrypto AES-256-GCM), upload with progress, keep the key.
import { api, requireLogin, uploadWithProgress } from './api.js';
import { $, clear, el, fmtTime, message } from './util.js';

requireLogin();
const instanceId = $('#bid-page').dataset.instanceId;
const base = `/trades/${encodeURIComponent(instanceId)}/bids`;
let current = null;

function b64(bytes) {
  let text = '';
  for (const b of bytes) text += String.fromCharCode(b);
  return btoa(text);
}

function fingerprint() {
  // A stable random id per browser, recorded with the client IP beside each bid (电子招标投标办法).
  let id = localStorage.getItem('ggzy.device');
  if (!id) {
    id = b64(crypto.getRandomValues(new Uint8Array(18)));
    localStorage.setItem('ggzy.device', id);
  }
  return `web:${id}`;
}

function lot() {
  return encodeURIComponent($('#bid-lot').value.trim() || '1');
}

/** nonce (12 bytes) || ciphertext || tag (16 bytes), the envelope trading/bids expects. */
async function seal(file) {
  const raw = crypto.getRandomValues(new Uint8Array(32));
  const key = await crypto.subtle.importKey('raw', raw, 'AES-GCM', false, ['encrypt']);
  const nonce = crypto.getRandomValues(new Uint8Array(12));
  const sealed = await crypto.subtle.encrypt({ name: 'AES-GCM', iv: nonce }, key, await file.arrayBuffer());
  return { blob: new Blob([nonce, sealed], { type: 'application/octet-stream' }), key: b64(raw) };
}

async function loadReceipts() {
  try {
    const mine = await api(`${base}/mine?lot=${lot()}`);
    current = mine.current;
    clear($('#bid-facts'), el('dt', {}, '投标截止时间'), el('dd', {}, fmtTime(mine.bid_deadline) || '—'));
    const items = (mine.receipts || []).map((r) => el('li', { dataset: { receipt: r.receipt_no } },
      el('strong', {}, r.receipt_no), ' ', el('span', { class: 'badge' }, r.status_name || r.status),
      el('div', { class: 'small muted' }, `${fmtTime(r.received_at)} · ${r.size} 字节`)));
    clear($('#receipts'), items.length ? el('ul', { class: 'pub-list stacked' }, items) : el('p', { class: 'muted' }, '尚未递交'));
    $('#withdraw-button').hidden = !current || current.status !== 'submitted';
  } catch (exc) {
    clear($('#receipts'), el('p', { class: 'muted' }, exc.message));
  }
}

$('#bid-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const file = $('#bid-file').files[0];
  if (!file) return;
  if (!window.crypto || !crypto.subtle) {
    message($('#bid-message'), '浏览器无法在此连接上加密（需要 HTTPS）');
    return;
  }
  const button = $('#bid-submit');
  button.disabled = true;
  message($('#bid-message'), '');
  try {
    $('#bid-progress-text').textContent = '正在加密…';
    const { blob, key } = await seal(file);
    $('#bid-key-value').textContent = key;
    $('#bid-key-download').href = URL.createObjectURL(new Blob([key], { type: 'text/plain' }));
    $('#bid-key').hidden = false;
    const receipt = await uploadWithProgress(`${base}?lot=${lot()}`, blob, {
      headers: { 'X-Device-Fingerprint': fingerprint() },
      onProgress: (loaded, total) => {
        const pct = Math.round((loaded / total) * 100);
        $('#bid-progress').style.width = `${pct}%`;
        $('#bid-progress-text').textContent = `已上传 ${pct}%（${loaded} / ${total} 字节）`;
      },
    });
    $('#bid-progress').style.width = '100%';
    message($('#bid-message'), `已递交，回执编号 ${receipt.receipt_no}（${fmtTime(receipt.received_at)}）`, 'ok');
    await loadReceipts();
  } catch (exc) {
    message($('#bid-message'), exc.message);
  } finally {
    button.disabled = false;
  }
});

$('#withdraw-button').addEventListener('click', async () => {
  if (!confirm('确定撤回投标文件？')) return;
  try {
    await api(`${base}?lot=${lot()}`, { method: 'DELETE', headers: { 'X-Device-Fingerprint': fingerprint() } });
    message($('#bid-message'), '已撤回', 'ok');
  } catch (exc) {
    message($('#bid-message'), exc.message);
  }
  await loadReceipts();
});

$('#decrypt-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  if (!current) return message($('#bid-message'), '没有可解密的投标文件');
  try {
    const out = await api(`${base}/${encodeURIComponent(current.bid_id)}/decrypt`, {
      method: 'POST', body: { key: $('#decrypt-key').value.trim() }, headers: { 'X-Device-Fingerprint': fingerprint() },
    });
    message($('#bid-message'), `解密成功：${out.status_name || out.status}`, 'ok');
  } catch (exc) {
    message($('#bid-message'), exc.message);
  }
  await loadReceipts();
});

$('#bid-lot').addEventListener('change', loadReceipts);
loadReceipts();
