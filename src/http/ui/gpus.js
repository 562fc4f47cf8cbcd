// GPUs: the whole fleet as a heat map, one cell per GPU grouped by host
// (the list from /api/v1/gpus, values live from the store), coloured by
// the chosen metric; hover shows a GPU's values, a click opens its page.
// Only the cells whose GPU changed are recoloured, once a second: each
// recolouring repaints, and a fleet's samples arrive all the time.
import * as api from './api.js';
import * as store from './store.js';
import { h, setText, num, mib, pct, ago, throttle, segmented, gpuHref, workerHref } from './dom.js';

const memPct = g => {
  const used = g.m.memory_used_mib, free = g.m.memory_free_mib;
  if (typeof used !== 'number') return undefined;
  const total = typeof free === 'number' ? used + free : g.memory_mib;
  return total ? (used / total) * 100 : undefined;
};

export const METRICS = {
  util: { label: 'Utilisation', unit: '%', get: g => g.m.utilization, range: () => [0, 100] },
  temp: { label: 'Temperature', unit: ' °C', get: g => g.m.temperature_c, range: () => [20, 90] },
  power: { label: 'Power', unit: ' W', get: g => g.m.power_w, range: max => [0, Math.max(100, Math.ceil(max / 100) * 100)] },
  mem: { label: 'Memory used', unit: '%', get: memPct, range: () => [0, 100] },
};

// Dark blue (low) through cyan, green and yellow to red (high), in 64
// steps, so that small changes leave a cell's style alone.
const STOPS = [[30, 58, 138], [8, 145, 178], [34, 197, 94], [234, 179, 8], [220, 38, 38]];
const PALETTE = Array.from({ length: 64 }, (_, i) => {
  const x = (i / 63) * (STOPS.length - 1), k = Math.min(Math.floor(x), STOPS.length - 2), f = x - k;
  const c = STOPS[k].map((v, j) => Math.round(v + (STOPS[k + 1][j] - v) * f));
  return `rgb(${c[0]}, ${c[1]}, ${c[2]})`;
});

export function colour(v, [lo, hi]) {
  if (typeof v !== 'number' || !isFinite(v)) return '';
  const x = Math.max(0, Math.min(1, (v - lo) / (hi - lo || 1)));
  return PALETTE[Math.round(x * 63)];
}

async function gpuList() {
  const all = [];
  for (let offset = 0; ; offset += 10000) {
    const r = await api.get(api.query('/api/v1/gpus', { limit: 10000, offset }));
    all.push(...(r.data || []));
    if (!r.data || r.data.length < 10000 || all.length >= r.total) return all;
  }
}

function tipHtml(tip, info, g) {
  const v = g ? g.m : {};
  const val = (x, unit) => (typeof x === 'number' ? `${num(x, 1)}${unit}` : '–');
  tip.replaceChildren(
    h('b', null, `${info.hostname} · GPU ${info.id}`), h('br'), h('span', { class: 'mono' }, info.uuid), h('br'),
    `${info.name || (g && g.model) || ''}`, h('br'),
    `utilisation ${pct(v.utilization)} · memory util ${pct(v.memory_utilization)}`, h('br'),
    `memory ${mib(v.memory_used_mib)} used · ${mib(v.memory_free_mib)} free`, h('br'),
    `temperature ${val(v.temperature_c, ' °C')} · power ${val(v.power_w, ' W')}`, h('br'),
    `SM ${val(v.sm_clock_mhz, ' MHz')} · mem ${val(v.mem_clock_mhz, ' MHz')}`, h('br'),
    h('span', { class: 'muted' }, `sample ${g ? ago(g.ts) : 'none yet'}`));
}

export function mount(main, route) {
  let metric = METRICS[route.params.get('metric')] ? route.params.get('metric') : 'util';
  const seg = segmented('Colour by', Object.entries(METRICS).map(([key, m]) => [key, m.label]), metric, key => {
    metric = key;
    history.replaceState(null, '', `#/gpus?metric=${key}`);
    repaintAll();
  });
  const lo = h('span'), hi = h('span');
  const count = h('span', { class: 'muted', id: 'gpu-count' });
  const stats = h('span', { class: 'muted' });
  const filter = h('input', { type: 'search', placeholder: 'Filter hosts', 'aria-label': 'Filter hosts' });
  const heat = h('div', { class: 'heat', id: 'heatmap' });
  const tip = document.getElementById('tip');
  main.append(
    h('div', { class: 'bar-row' }, h('h1', null, 'GPUs'), count, h('span', { class: 'grow' }), filter, seg),
    h('div', { class: 'bar-row' }, h('span', { class: 'legend' }, 'colour by value', lo, h('i'), hi), stats),
    heat);

  const cells = new Map();         // uuid -> {a, info}
  let hovered = null;
  let list = [];
  let known = new Set();
  let painted = '';                // the range the cells were painted for
  const range = () => {
    let max = 0;
    if (metric === 'power') for (const g of store.gpus.values()) if (g.m.power_w > max) max = g.m.power_w;
    return METRICS[metric].range(max);
  };
  const paint = (c, r) => {
    const g = store.gpus.get(c.info.uuid);
    const col = g ? colour(METRICS[metric].get(g), r) : '';
    if (c.colour === col) return;
    c.colour = col;
    c.a.style.background = col;
    c.a.classList.toggle('none', !col);
  };
  const summary = () => {
    const r = range();
    setText(lo, `${r[0]}${METRICS[metric].unit}`);
    setText(hi, `${r[1]}${METRICS[metric].unit}`);
    let sum = 0, n = 0, max = -Infinity;
    for (const c of cells.values()) {
      const g = store.gpus.get(c.info.uuid), v = g && METRICS[metric].get(g);
      if (typeof v === 'number') { sum += v; n++; max = Math.max(max, v); }
    }
    setText(stats, n ? `${METRICS[metric].label}: mean ${num(sum / n, 1)}${METRICS[metric].unit}, max ${num(max, 1)}${METRICS[metric].unit}` : 'no samples yet');
  };
  const repaintAll = () => {
    const r = range();
    painted = r.join();
    for (const c of cells.values()) paint(c, r);
    summary();
  };

  const build = () => {
    const byHost = new Map();
    for (const info of list) {
      if (!byHost.has(info.hostname)) byHost.set(info.hostname, []);
      byHost.get(info.hostname).push(info);
    }
    const hosts = [...byHost.keys()].sort((a, b) => a.localeCompare(b, undefined, { numeric: true }));
    // Cells shrink as the fleet grows (style.css); past 2,000 GPUs the hosts
    // lose their names (the hover card has them) so 8,000 fit one screen.
    heat.classList.toggle('mid', list.length > 400 && list.length <= 1000);
    heat.classList.toggle('small', list.length > 1000 && list.length <= 2000);
    heat.classList.toggle('dense', list.length > 2000);
    cells.clear();
    const q = filter.value.trim().toLowerCase();
    heat.replaceChildren(...hosts.filter(host => !q || host.toLowerCase().includes(q)).map(host => {
      const infos = byHost.get(host).sort((a, b) => a.id - b.id);
      const g0 = store.gpus.get(infos[0].uuid);
      const grid = h('div', { class: 'cells' });
      grid.style.setProperty('--cols', String(Math.min(8, infos.length)));
      for (const info of infos) {
        const a = h('a', { href: gpuHref(info.uuid), dataset: { gpuUuid: info.uuid }, 'aria-label': `${host} GPU ${info.id}` });
        cells.set(info.uuid, { a, info, colour: null });
        grid.append(a);
      }
      return h('div', { class: 'host', dataset: { host } },
        h('a', { href: g0 ? workerHref(g0.worker) : '#/workers', title: host }, host), grid);
    }));
    setText(count, `${num(list.length)} GPUs on ${num(hosts.length)} hosts`);
    repaintAll();
  };
  const load = async () => {
    try {
      list = await gpuList();
      known = new Set(list.map(i => i.uuid));
      build();
    } catch (e) { setText(count, e.message); }
  };
  const reload = throttle(load, 3000);

  filter.oninput = build;
  const showTip = a => {
    const c = cells.get(a.dataset.gpuUuid);
    if (!c) return;
    hovered = a;
    tipHtml(tip, c.info, store.gpus.get(c.info.uuid));
    tip.hidden = false;
    const r = a.getBoundingClientRect();
    const left = Math.min(r.right + 8, window.innerWidth - tip.offsetWidth - 8);
    const top = r.bottom + 8 + tip.offsetHeight > window.innerHeight ? r.top - tip.offsetHeight - 8 : r.bottom + 8;
    tip.style.left = `${Math.max(8, left)}px`;
    tip.style.top = `${Math.max(8, top)}px`;
  };
  const hideTip = () => { hovered = null; tip.hidden = true; };
  heat.addEventListener('mouseover', ev => { const a = ev.target.closest('[data-gpu-uuid]'); if (a) showTip(a); else hideTip(); });
  heat.addEventListener('mouseleave', hideTip);
  heat.addEventListener('focusin', ev => { const a = ev.target.closest('[data-gpu-uuid]'); if (a) showTip(a); });
  heat.addEventListener('focusout', hideTip);

  const pending = new Set();
  const paintPending = throttle(() => {
    const r = range();
    if (r.join() !== painted) repaintAll();
    let unknown = false;
    for (const uuid of pending) {
      const c = cells.get(uuid);
      if (c) paint(c, r);
      else if (store.gpus.has(uuid) && !known.has(uuid)) unknown = true;
    }
    if (unknown) reload();
    if (hovered && pending.has(hovered.dataset.gpuUuid)) showTip(hovered);
    pending.clear();
    summary();
  }, 1000);
  const off = store.on('gpus', changed => {
    for (const uuid of changed) pending.add(uuid);
    paintPending();
  });
  load();
  return () => { off(); hideTip(); };
}
