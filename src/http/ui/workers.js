// Workers: one row per worker, sortable by any column, filtered by state
// and by text (id, hostname, labels). Rows are kept and updated in place,
// twice a second at most and only while on screen (a row scrolled into view
// is brought up to date then); the order is recomputed at most once a
// second. The table's layout is fixed, so a changed cell lays out alone.
import * as store from './store.js';
import { h, setText, badge, setBadge, meter, setMeter, num, mib, ago, toMs, throttle, workerHref } from './dom.js';

const res = (w, k) => w.info && w.info.total_resources ? w.info.total_resources[k] : undefined;
const labelText = w => Object.entries((w.info && w.info.labels) || {}).map(([k, v]) => `${k}=${v}`).join(' ');

const COLUMNS = [
  { key: 'id', label: 'Worker', get: w => w.id },
  { key: 'state', label: 'State', get: w => w.state },
  { key: 'cpu', label: 'CPU', get: w => w.tel && w.tel.cpu_usage },
  { key: 'memory', label: 'Memory', get: w => w.tel && w.tel.memory_usage },
  { key: 'gpu', label: 'GPU', get: w => w.tel && w.tel.gpu_usage },
  { key: 'gpus', label: 'GPUs', num: true, get: w => (w.tel ? w.tel.gpus.length : res(w, 'gpu')) },
  { key: 'tasks', label: 'Tasks', num: true, get: w => (w.tel ? w.tel.running_tasks.length : w.info && w.info.running_tasks_count) },
  { key: 'cores', label: 'Cores', num: true, opt: true, get: w => res(w, 'cpu') },
  { key: 'ram', label: 'RAM', num: true, opt: true, get: w => res(w, 'memory') },
  { key: 'seen', label: 'Last heartbeat', opt: true, get: w => toMs(w.tel ? w.tel.last_update : w.info && w.info.last_heartbeat) },
  { key: 'labels', label: 'Labels', opt: true, get: labelText },
];
const LIVE_KEYS = new Set(['state', 'cpu', 'memory', 'gpu', 'tasks', 'seen']);

function newRow(w) {
  const tr = h('tr', { dataset: { workerId: w.id } },
    h('td', null, h('a', { href: workerHref(w.id) }, w.id)),
    h('td', null, badge(w.state)),
    h('td', null, meter()), h('td', null, meter()), h('td', null, meter()),
    h('td', { class: 'num' }), h('td', { class: 'num' }),
    h('td', { class: 'num opt' }), h('td', { class: 'num opt' }), h('td', { class: 'opt' }), h('td', { class: 'opt muted' }));
  fill(tr, w);
  return tr;
}

function fill(tr, w) {
  const c = tr.children;
  setBadge(c[1].firstChild, w.state);
  setMeter(c[2].firstChild, w.tel && w.tel.cpu_usage);
  setMeter(c[3].firstChild, w.tel && w.tel.memory_usage);
  setMeter(c[4].firstChild, w.tel && w.tel.gpu_usage);
  setText(c[5], num(COLUMNS[5].get(w)));
  setText(c[6], num(COLUMNS[6].get(w)));
  setText(c[7], num(res(w, 'cpu'), 1));
  setText(c[8], mib(res(w, 'memory')));
  setText(c[9], ago(COLUMNS[9].get(w)));
  setText(c[10], labelText(w));
}

function compare(col, dir) {
  return (a, b) => {
    const x = col.get(a), y = col.get(b);
    const xn = x === undefined || x === null || (typeof x === 'number' && isNaN(x));
    const yn = y === undefined || y === null || (typeof y === 'number' && isNaN(y));
    if (xn || yn) return xn === yn ? a.id.localeCompare(b.id) : xn ? 1 : -1;
    const d = typeof x === 'number' ? x - y : String(x).localeCompare(String(y), undefined, { numeric: true });
    return (d || a.id.localeCompare(b.id, undefined, { numeric: true })) * dir;
  };
}

export function mount(main, route) {
  const p = route.params;
  const opts = { q: p.get('q') || '', state: p.get('state') || '', sort: p.get('sort') || 'id', dir: p.get('dir') === 'desc' ? -1 : 1 };
  const rows = new Map();
  let order = [];
  const onScreen = new Set();
  const stale = new Set();
  const pending = new Set();
  const io = new IntersectionObserver(entries => {
    for (const en of entries) {
      const id = en.target.dataset.workerId;
      if (!en.isIntersecting) { onScreen.delete(id); continue; }
      onScreen.add(id);
      const w = store.workers.get(id);
      if (stale.delete(id) && w) fill(en.target, w);
    }
  }, { rootMargin: '300px 0px' });
  const rowOf = w => {
    let tr = rows.get(w.id);
    if (!tr) {
      rows.set(w.id, tr = newRow(w));
      io.observe(tr);
    }
    return tr;
  };
  const tbody = h('tbody');
  const count = h('span', { class: 'muted' });
  const heads = COLUMNS.map(c => h('th', { class: `${c.num ? 'num' : ''} ${c.opt ? 'opt' : ''}`, dataset: { sort: c.key }, scope: 'col' }, c.label));
  const search = h('input', { type: 'search', placeholder: 'Filter by id, host or label', value: opts.q, 'aria-label': 'Filter workers' });
  const stateSel = h('select', { 'aria-label': 'State' }, h('option', { value: '' }, 'all states'),
    ['active', 'inactive', 'offline', 'draining'].map(s => h('option', { value: s, selected: s === opts.state }, s)));
  const empty = h('div', { class: 'empty' }, 'No workers match.');
  main.append(
    h('div', { class: 'bar-row' }, h('h1', null, 'Workers'), count, h('span', { class: 'grow' }), search, stateSel),
    h('div', { class: 'table-wrap' }, h('table', { id: 'workers-table' }, h('thead', null, h('tr', null, heads)), tbody), empty));

  const keepInUrl = () => {
    const q = new URLSearchParams();
    if (opts.q) q.set('q', opts.q);
    if (opts.state) q.set('state', opts.state);
    if (opts.sort !== 'id' || opts.dir < 0) { q.set('sort', opts.sort); q.set('dir', opts.dir < 0 ? 'desc' : 'asc'); }
    const s = q.toString();
    history.replaceState(null, '', `#/workers${s ? `?${s}` : ''}`);
  };
  const visible = w => {
    if (opts.state && w.state !== opts.state) return false;
    if (!opts.q) return true;
    const q = opts.q.toLowerCase();
    return w.id.toLowerCase().includes(q) || w.hostname.toLowerCase().includes(q) || labelText(w).toLowerCase().includes(q);
  };
  const arrange = () => {
    const col = COLUMNS.find(c => c.key === opts.sort) || COLUMNS[0];
    const list = [...store.workers.values()].filter(visible).sort(compare(col, opts.dir));
    for (const [id, tr] of rows) if (!store.workers.has(id)) { rows.delete(id); io.unobserve(tr); }
    const ids = list.map(w => w.id);
    if (ids.length !== order.length || ids.some((id, i) => id !== order[i])) {
      tbody.replaceChildren(...list.map(rowOf));
      order = ids;
    }
    for (const th of heads) th.setAttribute('aria-sort', th.dataset.sort === opts.sort ? (opts.dir > 0 ? 'ascending' : 'descending') : 'none');
    setText(count, `${num(list.length)} of ${num(store.workers.size)}`);
    empty.hidden = list.length > 0;
  };
  const rearrange = throttle(arrange, 1000);
  const refresh = throttle(() => {
    let reorder = false;
    for (const id of pending) {
      const w = store.workers.get(id), tr = rows.get(id);
      if (!w || !tr) { reorder = true; continue; }
      if (onScreen.has(id)) fill(tr, w);
      else stale.add(id);
      reorder = reorder || LIVE_KEYS.has(opts.sort) || !!opts.state;
    }
    pending.clear();
    if (reorder) rearrange();
  }, 500);
  const update = changed => {
    for (const id of changed) pending.add(id);
    refresh();
  };

  for (const th of heads) {
    th.onclick = () => {
      opts.dir = opts.sort === th.dataset.sort ? -opts.dir : 1;
      opts.sort = th.dataset.sort;
      keepInUrl();
      arrange();
    };
  }
  search.oninput = () => { opts.q = search.value.trim(); keepInUrl(); arrange(); };
  stateSel.onchange = () => { opts.state = stateSel.value; keepInUrl(); arrange(); };
  arrange();
  const off = store.on('workers', update);
  const ages = setInterval(() => {
    for (const id of onScreen) if (rows.has(id)) setText(rows.get(id).children[9], ago(COLUMNS[9].get(store.workers.get(id) || {})));
  }, 5000);
  return () => { off(); clearInterval(ages); io.disconnect(); };
}
