// One GPU: identity and latest values (/api/v1/gpus/{uuid}), and charts of
// every metric over a chosen window (/api/v1/gpus/{uuid}/telemetry), kept
// live by the /ws gpus topic filtered to this GPU.
import * as api from './api.js';
import * as store from './store.js';
import { live } from './ws.js';
import { TimeChart } from './chart.js';
import { h, setText, num, stamp, toMs, coalesce, segmented, workerHref } from './dom.js';

const WINDOWS = [[5, '5m'], [15, '15m'], [60, '1h'], [360, '6h'], [1440, '24h']];
const CHARTS = [
  { title: 'Utilisation', unit: '%', range: [0, 100], keys: ['gpu_utilization', 'memory_utilization', 'encoder_utilization', 'decoder_utilization'],
    labels: ['GPU', 'memory', 'encoder', 'decoder'] },
  { title: 'Framebuffer memory', unit: ' MiB', digits: 0, keys: ['memory_used_mb', 'memory_free_mb'], labels: ['used', 'free'] },
  { title: 'Temperature', unit: ' °C', digits: 0, keys: ['temperature'], labels: ['temperature'] },
  { title: 'Power', unit: ' W', keys: ['power_draw'], labels: ['power'] },
  { title: 'Clocks', unit: ' MHz', digits: 0, keys: ['sm_clock_mhz', 'memory_clock_mhz'], labels: ['SM', 'memory'] },
];
const FIELDS = [['gpu_utilization', 'utilisation', '%'], ['memory_utilization', 'memory utilisation', '%'],
  ['memory_used_mb', 'memory used', ' MiB'], ['memory_free_mb', 'memory free', ' MiB'], ['temperature', 'temperature', ' °C'],
  ['power_draw', 'power', ' W'], ['sm_clock_mhz', 'SM clock', ' MHz'], ['memory_clock_mhz', 'memory clock', ' MHz'],
  ['encoder_utilization', 'encoder', '%'], ['decoder_utilization', 'decoder', '%']];

export function mount(main, route) {
  const uuid = route.id;
  let minutes = (WINDOWS.find(w => w[1] === route.params.get('window')) || [15])[0];
  const title = h('h1', null, h('span', { class: 'mono' }, uuid));
  const sub = h('div', { class: 'sub' });
  const error = h('p', { class: 'error', role: 'alert' });
  const seg = segmented('Window', WINDOWS, minutes, m => {
    minutes = m;
    for (const c of charts) c.spanMs = m * 60000;
    history.replaceState(null, '', `#/gpus/${encodeURIComponent(uuid)}?window=${WINDOWS.find(w => w[0] === m)[1]}`);
    load();
  });
  const note = h('span', { class: 'muted' });
  const latest = h('dl', { class: 'kv', id: 'gpu-latest' });
  const charts = CHARTS.map(c => new TimeChart({ ...c, connect: true, spanMs: minutes * 60000 }));
  main.append(
    h('div', { class: 'bar-row' }, title), sub, error,
    h('div', { class: 'bar-row' }, h('span', null, 'Window'), seg, note),
    h('div', { class: 'grid3' }, h('section', { class: 'card' }, h('h2', null, 'Latest sample'), latest), ...charts.map(c => c.el)));

  const values = {};
  let lastTs = NaN;
  const drawLatest = coalesce(() => {
    latest.replaceChildren(...FIELDS.flatMap(([k, label, unit]) => [h('dt', null, label),
      h('dd', { dataset: { metric: k } }, typeof values[k] === 'number' ? `${num(values[k], 1)}${unit}` : '–')]),
    h('dt', null, 'time'), h('dd', null, stamp(lastTs)));
  });
  const row = (ts, m) => CHARTS.map(c => [new Date(ts), ...c.keys.map(k => (typeof m[k] === 'number' ? m[k] : null))]);
  const load = async () => {
    const now = Date.now() + store.state.serverOffset;
    setText(note, 'loading…');
    try {
      const items = await api.series(`/api/v1/gpus/${encodeURIComponent(uuid)}/telemetry`, 'data',
        new Date(now - minutes * 60000).toISOString(), new Date(now + 60000).toISOString(), 10000, 50000);
      const rows = CHARTS.map(() => []);
      for (const it of items) row(toMs(it.timestamp), it).forEach((r, i) => rows[i].push(r));
      charts.forEach((c, i) => c.set(rows[i]));
      setText(note, `${num(items.length)} samples`);
    } catch (e) {
      setText(note, '');
      error.textContent = e.message;
    }
  };
  api.get(`/api/v1/gpus/${encodeURIComponent(uuid)}`).then(r => {
    const d = r.data;
    const g = store.gpus.get(uuid);
    const worker = g ? g.worker : d.hostname;
    sub.replaceChildren(`GPU ${d.id} of `, h('a', { href: workerHref(worker) }, d.hostname), ` · ${d.name} · ${d.device || ''} · ${d.status || ''}`);
    Object.assign(values, d.latest || {});
    lastTs = toMs(d.latest && d.latest.timestamp);
    drawLatest();
  }, e => { error.textContent = e.status === 404 ? `No GPU ${uuid}.` : e.message; });
  drawLatest();
  load();
  const unsubscribe = live.subscribe({ topic: 'gpus', filters: { gpu_uuid: uuid } });
  const off = live.on('gpu', m => {
    if (m.uuid !== uuid) return;
    const ts = toMs(m.timestamp);
    Object.assign(values, m.metrics);
    lastTs = ts;
    row(ts, m.metrics).forEach((r, i) => charts[i].push(r, minutes * 60000));
    drawLatest();
  });
  return () => { unsubscribe(); off(); charts.forEach(c => c.destroy()); };
}
