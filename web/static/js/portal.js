// The public portal: announcements and results by category and region, with search (no login).
import { api } from './api.js';
import { itemsOf, publicationRow } from './public.js';
import { $, clear, el, message } from './util.js';

const FIELDS = ['q', 'category', 'kind', 'region', 'from', 'to'];
const PAGE = 20;
let page = 1;

function query() {
  const params = new URLSearchParams();
  for (const name of FIELDS) {
    const value = $(`#${name}`).value.trim();
    if (value) params.set(name, value);
  }
  return params;
}

async function search(append = false) {
  const params = query();
  params.set('page', String(page));
  params.set('per_page', String(PAGE));
  try {
    const answer = await api(`/public/publications?${params}`, { auth: false });
    const items = itemsOf(answer);
    const list = $('#publications');
    if (!append) clear(list);
    list.append(...items.map(publicationRow));
    if (!list.children.length) list.append(el('li', { class: 'muted' }, '没有符合条件的信息'));
    const total = answer && typeof answer.total === 'number' ? answer.total : null;
    $('#result-count').textContent = total !== null ? `共 ${total} 条` : '';
    $('#more-button').hidden = items.length < PAGE || (total !== null && list.children.length >= total);
    message($('#portal-message'), '');
  } catch (exc) {
    message($('#portal-message'), exc.status === 404 ? '信息公开服务尚未开通' : exc.message);
  }
}

// Filters live in the address, so a search can be bookmarked and shared.
const initial = new URLSearchParams(location.search);
for (const name of FIELDS) if (initial.get(name)) $(`#${name}`).value = initial.get(name);
if (FIELDS.some((n) => initial.get(n))) $('#result-heading').textContent = '搜索结果';

$('#search-form').addEventListener('submit', (event) => {
  event.preventDefault();
  page = 1;
  history.replaceState(null, '', `?${query()}`);
  $('#result-heading').textContent = '搜索结果';
  search();
});
$('#more-button').addEventListener('click', () => { page += 1; search(true); });
search();
