// Bar charts drawn as SVG: no chart library, nothing to download.
const NS = 'http://www.w3.org/2000/svg';

function svg(tag, attrs = {}, text) {
  const node = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  if (text !== undefined) node.textContent = text;
  return node;
}

export function compact(value) {
  const n = Number(value) || 0;
  if (Math.abs(n) >= 1e8) return `${(n / 1e8).toFixed(2)} 亿`;
  if (Math.abs(n) >= 1e4) return `${(n / 1e4).toFixed(1)} 万`;
  return String(Math.round(n * 100) / 100);
}

/** barChart(container, [{label, value}], {title, alt}) */
export function barChart(container, data, { title = '', alt = false } = {}) {
  const width = 520;
  const rowHeight = 26;
  const left = 120;
  const right = 80;
  const height = Math.max(1, data.length) * rowHeight + 36;
  const max = Math.max(1, ...data.map((d) => Number(d.value) || 0));
  const chart = svg('svg', { viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-label': title });
  chart.append(svg('text', { x: 0, y: 14, 'font-weight': 600, fill: '#1f2329', style: 'font-size:13px' }, title));
  data.forEach((d, i) => {
    const y = 28 + i * rowHeight;
    const w = ((Number(d.value) || 0) / max) * (width - left - right);
    chart.append(svg('text', { x: left - 8, y: y + 15, 'text-anchor': 'end' }, d.label));
    const bar = svg('rect', { class: `bar${alt ? ' alt' : ''}`, x: left, y: y + 3, width: Math.max(w, 1), height: rowHeight - 8, rx: 2 });
    bar.append(svg('title', {}, `${d.label}：${d.value}`));
    chart.append(bar);
    chart.append(svg('text', { x: left + w + 6, y: y + 15 }, compact(d.value)));
  });
  chart.append(svg('line', { class: 'axis', x1: left, y1: 24, x2: left, y2: height - 4 }));
  container.replaceChildren(chart);
  if (!data.length) container.append(Object.assign(document.createElement('p'), { className: 'muted', textContent: '暂无数据' }));
}
