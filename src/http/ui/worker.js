// One worker: identity and state, resources, labels, its GPUs and running
// tasks (live from the store), a chart of its CPU/memory/GPU use (history
// from /api/workers/{id}/metrics, then each heartbeat), its recent tasks,
// and the Drain / Unregister actions.
import * as api from './api.js';
import * as store from './store.js';
import { TimeChart } from './chart.js';
import { h, setText, badge, setBadge, meter, setMeter, num, mib, pct, ago, stamp, toMs, throttle, commandText,
  segmented, link, taskHref, gpuHref } from './dom.js';
import { armed } from './actions.js';

const WINDOWS = [[15, '15m'], [60, '1h'], [360, '6h']];

function resourceCard(title) {
  const big = h('div', { class: 'big' });
  const sub = h('div', { class: 'sub' });
  const m = meter();
  return { el: h('section', { class: 'card' }, h('h2', null, title, h('small', null, 'use now')), big, m, sub), big, sub, m };
}

export function mount(main, route) {
  const id = route.id;
  const title = h('h1', null, id, badge('active'));
  const sub = h('div', { class: 'sub' });
  const notice = h('div', { class: 'notice', hidden: true });
  const error = h('p', { class: 'error', role: 'alert' });
  const drain = h('button', { type: 'button', id: 'drain' }, 'Drain');
  const unregister = h('button', { type: 'button', class: 'danger', id: 'unregister' }, 'Unregister');
  const cards = { cpu: resourceCard('CPU'), mem: resourceCard('Memory'), gpu: resourceCard('GPUs'), disk: resourceCard('Storage') };
  const labels = h('div', { class: 'chips' });
  const win = { minutes: 15 };
  const seg = segmented('Window', WINDOWS, win.minutes, minutes => {
    win.minutes = minutes;
    chart.spanMs = minutes * 60000;
    loadHistory();
  });
  const chart = new TimeChart({ title: h('span', null, 'Use ', seg), labels: ['CPU', 'memory', 'GPU'], unit: '%', range: [0, 100], tall: true,
    spanMs: win.minutes * 60000 });
  const gpuBody = h('tbody');
  const runBody = h('tbody');
  const recentBody = h('tbody');
  const table = (heads, body) => h('div', { class: 'table-wrap' }, h('table', null,
    h('thead', null, h('tr', null, heads.map(x => h('th', { class: x.startsWith('#') ? 'num' : '' }, x.replace(/^#/, ''))))), body));
  main.append(
    h('div', { class: 'bar-row' }, title, h('span', { class: 'grow' }), drain, unregister),
    sub, error, notice,
    h('div', { class: 'cards' }, cards.cpu.el, cards.mem.el, cards.gpu.el, cards.disk.el),
    h('section', { class: 'card', id: 'labels' }, h('h2', null, 'Labels'), labels),
    h('div', { class: 'grid2' }, chart.el,
      h('section', { class: 'card' }, h('h2', null, 'GPUs'), table(['GPU', 'Model', '#Util', '#Memory', '#Temp', '#Power'], gpuBody))),
    h('div', { class: 'grid2' },
      h('section', { class: 'card' }, h('h2', null, 'Running tasks'), table(['Task', 'Status', '#CPU', '#Memory', '#GPU', '#CPU use'], runBody)),
      h('section', { class: 'card' }, h('h2', null, 'Recent tasks'), table(['Task', 'Status', 'Command', 'Created'], recentBody))));

  let detail = null;
  let lastRow = 0;
  const drawDetail = () => {
    const w = store.workers.get(id);
    const d = (w && w.info) || detail;
    if (!d) return;
    const t = w && w.tel;
    setBadge(title.lastChild, w ? w.state : 'offline');
    notice.hidden = !!w;
    setText(notice, 'This worker is not registered (any more).');
    setText(sub, `host ${d.hostname || id} · ${d.address || 'no address'} · registered ${stamp(d.registered_at)} · last heartbeat ${ago(t ? t.last_update : d.last_heartbeat)}`);
    const tot = d.total_resources || {}, alloc = d.allocated_resources || {};
    setText(cards.cpu.big, `${num(tot.cpu, 1)} cores`);
    setText(cards.cpu.sub, `${num(alloc.cpu, 1)} allocated to tasks`);
    setMeter(cards.cpu.m, t ? t.cpu_usage : d.cpu_usage);
    setText(cards.mem.big, mib(tot.memory));
    setText(cards.mem.sub, `${mib(alloc.memory)} allocated`);
    setMeter(cards.mem.m, t ? t.memory_usage : d.memory_usage);
    setText(cards.gpu.big, num(tot.gpu));
    setText(cards.gpu.sub, `${num(alloc.gpu, 2)} allocated`);
    setMeter(cards.gpu.m, t ? t.gpu_usage : d.gpu_usage);
    setText(cards.disk.big, mib(tot.storage));
    setText(cards.disk.sub, `${mib(alloc.storage)} allocated`);
    setMeter(cards.disk.m, t ? t.storage_usage : d.storage_usage);
    const draining = w ? w.state === 'draining' : d.draining;
    setText(drain, draining ? 'Resume' : 'Drain');
    drain.dataset.draining = draining ? '1' : '0';
    drain.disabled = unregister.disabled = !w || !api.auth.admin;
    if (!api.auth.admin) drain.title = unregister.title = 'needs an admin token';
    if (w && w.info) {
      const l = Object.entries(w.info.labels || {});
      labels.replaceChildren(...(l.length ? l.map(([k, v]) => h('span', { class: 'chip' }, `${k}=${v}`)) : [h('span', { class: 'muted' }, 'none')]));
    }
  };
  const drawLive = () => {
    const w = store.workers.get(id);
    const t = w && w.tel;
    if (!t) return;
    const gl = [...store.gpus.values()].filter(g => g.worker === id).sort((a, b) => a.index - b.index);
    gpuBody.replaceChildren(...gl.map(g => h('tr', null,
      h('td', null, link(gpuHref(g.uuid), `#${g.index}`, { title: g.uuid })), h('td', null, g.model || ''),
      h('td', { class: 'num' }, pct(g.m.utilization)), h('td', { class: 'num' }, `${mib(g.m.memory_used_mib)} / ${mib(g.memory_mib)}`),
      h('td', { class: 'num' }, g.m.temperature_c === undefined ? '–' : `${g.m.temperature_c} °C`),
      h('td', { class: 'num' }, g.m.power_w === undefined ? '–' : `${num(g.m.power_w)} W`))));
    if (!gl.length) gpuBody.append(h('tr', null, h('td', { class: 'empty', colspan: 6 }, 'No GPUs.')));
    runBody.replaceChildren(...t.running_tasks.map(r => h('tr', null,
      h('td', null, link(taskHref(r.task_id), r.task_id)), h('td', null, badge(r.status)),
      h('td', { class: 'num' }, num(r.cpu_allocated, 2)), h('td', { class: 'num' }, mib(r.memory_allocated)),
      h('td', { class: 'num' }, num(r.gpu_allocated, 2)), h('td', { class: 'num' }, pct(r.cpu_usage)))));
    if (!t.running_tasks.length) runBody.append(h('tr', null, h('td', { class: 'empty', colspan: 6 }, 'Nothing running.')));
    const at = toMs(t.last_update);
    if (isFinite(at) && at > lastRow) {
      lastRow = at;
      chart.push([new Date(at), t.cpu_usage, t.memory_usage, t.gpu_usage], win.minutes * 60000);
    }
  };
  const loadRecent = async () => {
    try {
      const r = await api.get(api.query(`/api/workers/${encodeURIComponent(id)}/tasks`, { limit: 15 }));
      recentBody.replaceChildren(...r.tasks.map(t => h('tr', null,
        h('td', null, link(taskHref(t.task_id), t.task_id)), h('td', null, badge(t.status)),
        h('td', { class: 'wrap mono' }, commandText(t)), h('td', null, ago(t.created_at)))));
      if (!r.tasks.length) recentBody.append(h('tr', null, h('td', { class: 'empty', colspan: 4 }, 'No tasks yet.')));
    } catch (e) { error.textContent = e.message; }
  };
  const loadHistory = async () => {
    const now = Date.now() + store.state.serverOffset;
    try {
      const items = await api.series(`/api/workers/${encodeURIComponent(id)}/metrics`, 'metrics',
        new Date(now - win.minutes * 60000).toISOString(), new Date(now + 60000).toISOString());
      const rows = items.map(m => [new Date(toMs(m.timestamp)), m.cpu_usage, m.memory_usage, m.gpu_usage]);
      lastRow = rows.length ? rows[rows.length - 1][0].getTime() : 0;
      chart.set(rows);
    } catch (e) {
      error.textContent = `History: ${e.message}`;
      chart.set([]);
    }
  };
  drain.onclick = async () => {
    error.textContent = '';
    try {
      const r = await api.request('POST', `/api/workers/${encodeURIComponent(id)}/drain`, { drain: drain.dataset.draining !== '1' });
      const w = store.workers.get(id);
      if (w) { w.state = r.state; drawDetail(); }
    } catch (e) { error.textContent = e.message; }
  };
  armed(unregister, 'Really unregister?', async () => {
    error.textContent = '';
    try {
      await api.request('DELETE', `/api/workers/${encodeURIComponent(id)}`);
      await store.refreshWorkers();
    } catch (e) { error.textContent = e.message; }
  });

  api.get(`/api/workers/${encodeURIComponent(id)}`).then(d => { detail = d; drawDetail(); }, e => {
    error.textContent = e.status === 404 ? `No worker ${id}.` : e.message;
  });
  loadHistory();
  loadRecent();
  drawDetail();
  drawLive();
  const recentSoon = throttle(loadRecent, 1000);
  const offs = [
    store.on('workers', changed => { if (changed.has(id)) { drawDetail(); drawLive(); } }),
    store.on('events', evs => { if (evs.some(e => e.worker_id === id && e.task_id)) recentSoon(); }),
  ];
  return () => { offs.forEach(off => off()); chart.destroy(); };
}
