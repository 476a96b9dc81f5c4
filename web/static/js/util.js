// Small DOM and formatting helpers shared by the pages.

/** el('div', {class: 'x', onclick: fn}, child, 'text') */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith('on') && typeof value === 'function') node.addEventListener(key.slice(2), value);
    else if (key === 'class') node.className = value;
    else if (key === 'dataset') Object.assign(node.dataset, value);
    else if (key in node && typeof value !== 'string') node[key] = value;
    else node.setAttribute(key, value === true ? '' : value);
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

export function $(selector, root = document) {
  return root.querySelector(selector);
}

export function clear(node, ...children) {
  node.replaceChildren(...children.flat().filter((c) => c !== null && c !== undefined));
  return node;
}

const body = document.body.dataset;
const offsetMinutes = Number(body.tzOffset || 480);
// The platform clock may run ahead of the browser's (the fake clock in tests): keep the difference.
const clockSkew = body.platformNow ? Date.parse(body.platformNow) - Date.now() : 0;

export function platformNow() {
  return new Date(Date.now() + clockSkew);
}

function shifted(iso) {
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? null : new Date(ms + offsetMinutes * 60000).toISOString();
}

/** 2026-09-30 09:30 in the platform's zone. */
export function fmtTime(iso) {
  if (!iso) return '';
  const s = shifted(iso);
  return s ? `${s.slice(0, 10)} ${s.slice(11, 16)}` : String(iso);
}

export function fmtDate(iso) {
  if (!iso) return '';
  if (/^\d{4}-\d{2}-\d{2}$/.test(iso)) return iso;
  const s = shifted(iso);
  return s ? s.slice(0, 10) : String(iso);
}

export function isOverdue(iso) {
  return !!iso && Date.parse(iso) < platformNow().getTime();
}

/** A datetime-local value (wall clock in the platform zone) as ISO 8601 with the zone's offset. */
export function localToIso(value) {
  if (!value) return value;
  const sign = offsetMinutes >= 0 ? '+' : '-';
  const abs = Math.abs(offsetMinutes);
  const offset = `${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
  return `${value.length === 16 ? `${value}:00` : value}${offset}`;
}

/** ISO 8601 as a datetime-local value in the platform zone. */
export function isoToLocal(iso) {
  const s = iso ? shifted(iso) : null;
  return s ? s.slice(0, 16) : '';
}

export function message(node, text, kind = 'error') {
  if (!node) return;
  node.className = `message ${kind}`;
  node.textContent = text;
  node.hidden = !text;
}

export const ROLE_NAMES = {
  admin: '系统管理员', designer: '流程设计人员', staff: '交易中心工作人员', purchaser: '招标人/采购人',
  agency: '代理机构', bidder: '投标人/供应商', expert: '评标专家', supervisor: '行政监督人员', integrator: '外部系统',
};

export const STATUS_NAMES = {
  running: '进行中', completed: '已完成', cancelled: '已撤销', suspended: '已挂起', failed: '异常',
  ready: '待办', open: '待处理', reviewed: '已核查', dismissed: '已排除',
};

export const CATEGORY_NAMES = {
  G: '工程建设', Z: '政府采购', D: '政府采购', L: '土地使用权', K: '矿业权', P: '国有产权',
};

export const KIND_NAMES = {
  announcement: '交易公告', change: '变更公告', prequalification: '资格预审结果', candidates: '中标候选人公示',
  result: '交易结果', contract: '合同公告', termination: '终止公告', performance: '履约信息',
};

export const EVENT_NAMES = {
  'instance.started': '流程发起', 'instance.completed': '流程结束', 'instance.cancelled': '流程撤销',
  'instance.suspended': '流程挂起', 'instance.resumed': '流程恢复', 'instance.failed': '流程异常',
  'task.created': '生成任务', 'task.claimed': '认领任务', 'task.unclaimed': '退回任务', 'task.completed': '办结任务',
  'task.cancelled': '任务取消', 'timer.scheduled': '设定时限', 'timer.fired': '时限届满', 'timer.cancelled': '时限解除',
  'instance.cancelled_by_decision': '依决定终止', 'bid.uploaded': '递交投标文件', 'bid.replaced': '替换投标文件',
  'bid.withdrawn': '撤回投标文件', 'bid.decrypted': '投标文件解密', 'bids.opened': '开标',
  'bids.decryption_closed': '解密截止', 'deposit.recorded': '保证金到账', 'deposit.refunded': '保证金退还',
  'experts.drawn': '抽取专家', 'evaluation.opened': '开始评标', 'evaluation.closed': '评标结束',
  'tender.registered': '项目登记', 'tender.winner_decided': '确定中标人', 'publication.published': '信息发布',
  'trade.result_recorded': '登记交易结果', 'alert.raised': '产生预警', 'auction.opened': '竞价开始',
  'auction.bid': '出价', 'auction.closed': '竞价结束',
};
