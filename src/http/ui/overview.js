// Overview: health, Redis, workers by state, tasks by status, queue depth,
// and live charts of heartbeats/s, tasks/s and cluster CPU/memory/GPU use
// over the last 15 minutes (kept by the store since the page loaded).
import * as api from './api.js';
import * as store from './store.js';
import { TimeChart } from './chart.js';
import { h, setText, badge, num, duration, clock, link, throttle, workerHref, taskHref } from './dom.js';

const TASK_STATES = ['queued', 'assigned', 'running', 'completed', 'failed', 'cancelled'];
const WORKER_STATES = ['active', 'inactive', 'offline', 'draining'];

function card(title, id) {
  const big = h('div', { class: 'big', id });
  const sub = h('div', { class: 'sub' });
  const chips = h('div', { class: 'chips' });
  return { el: h('section', { class: 'card' }, h('h2', null, title), big, sub, chips), big, sub, chips };
}

function chips(el, counts, states) {
  el.replaceChildren(...states.map(s => h('span', { class: 'chip', dataset: { count: s } },
    badge(s), ' ', num(counts[s] || 0))));
}

export function mount(main) {
  const cHealth = card('Health', 'ov-health');
  const cWorkers = card('Workers', 'ov-workers');
  const cTasks = card('Tasks', 'ov-tasks');
  const cQueue = card('Queue depth', 'ov-queue');
  const cGpus = card('GPUs', 'ov-gpus');
  const spanMs = store.WINDOW_S * 1000;
  const hb = new TimeChart({ title: 'Heartbeats / s', labels: ['heartbeats/s'], digits: 1, spanMs });
  const tasks = new TimeChart({ title: 'Tasks / s', labels: ['submitted/s', 'finished/s'], digits: 2, spanMs });
  const use = new TimeChart({ title: 'Cluster use', labels: ['CPU', 'memory', 'GPU'], unit: '%', range: [0, 100], spanMs });
  const recent = h('tbody');
  main.append(
    h('div', { class: 'cards' }, cHealth.el, cWorkers.el, cTasks.el, cQueue.el, cGpus.el),
    h('div', { class: 'grid3' }, hb.el, tasks.el, use.el),
    h('section', { class: 'card' }, h('h2', null, 'Latest events', h('small', null, link('#/events', 'all events'))),
      h('div', { class: 'table-wrap' }, h('table', { class: 'events' }, recent))));

  let metrics = null;
  const draw = () => {
    const hl = store.state.health;
    setText(cHealth.big, hl ? (hl.redis === 'up' ? 'healthy' : 'degraded') : store.state.healthError || '…');
    setText(cHealth.sub, hl ? `redis ${hl.redis} · up ${duration(hl.uptime_s)} · ${num(hl.active_clients)} clients` : '');
    const ws = store.countStates();
    setText(cWorkers.big, num(store.workers.size));
    setText(cWorkers.sub, `${num(ws.active)} active`);
    chips(cWorkers.chips, ws, WORKER_STATES);
    const queued = metrics ? metrics.queue : hl && hl.queued_tasks;
    setText(cQueue.big, num(queued));
    setText(cQueue.sub, hl ? `${num(hl.running_tasks)} assigned or running` : '');
    if (metrics) {
      const total = TASK_STATES.reduce((n, s) => n + (metrics.tasks[s] || 0), 0);
      setText(cTasks.big, num(total));
      setText(cTasks.sub, 'since gantryd started');
      chips(cTasks.chips, metrics.tasks, TASK_STATES);
    }
    const use3 = store.clusterUse();
    setText(cGpus.big, num(store.gpus.size));
    setText(cGpus.sub, use3[2] === null ? 'no GPU samples' : `${use3[2].toFixed(1)}% mean utilisation`);
  };
  const drawSeries = () => {
    hb.set(store.series.heartbeats);
    tasks.set(store.series.tasks);
    use.set(store.series.use);
  };
  const drawEvents = () => {
    const last = store.events.slice(-8).reverse();
    recent.replaceChildren(...last.map(e => h('tr', null,
      h('td', { class: 'mono' }, clock(e.ms)), h('td', null, e.type),
      h('td', null, e.worker_id ? link(workerHref(e.worker_id), e.worker_id) : ''),
      h('td', null, e.task_id ? link(taskHref(e.task_id), e.task_id) : ''),
      h('td', null, e.status || ''))));
    if (!last.length) recent.append(h('tr', null, h('td', { class: 'empty' }, 'No events in the last 15 minutes.')));
  };
  const pollMetrics = async () => {
    try { metrics = await api.metricsHead(); draw(); } catch { metrics = null; }
  };
  pollMetrics();
  const timer = setInterval(pollMetrics, 10000);
  draw();
  drawSeries();
  drawEvents();
  const offs = [store.on('health', draw), store.on('workers', throttle(draw, 500)), store.on('series', drawSeries),
    store.on('events', drawEvents)];
  return () => {
    clearInterval(timer);
    offs.forEach(off => off());
    [hb, tasks, use].forEach(c => c.destroy());
  };
}
