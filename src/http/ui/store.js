// What the page knows of the cluster, kept live: every worker's telemetry
// and its GPUs (the /ws telemetry topic: a snapshot, then one message per
// heartbeat), worker states (/api/workers, then worker.* events), the last
// events (/api/events for the past 15 minutes, then the /ws events topic),
// /health every 5 s, and 15 minutes of cluster-wide series. Views hear of
// changes at most once per animation frame, with the ids that changed.
import * as api from './api.js';
import { live } from './ws.js';
import { coalesce, toMs } from './dom.js';

export const STEP_S = 2;               // resolution of the overview series
export const WINDOW_S = 15 * 60;
const MAX_EVENTS = 2000;
const GPU_METRICS = ['utilization', 'memory_utilization', 'memory_used_mib', 'memory_free_mib', 'temperature_c',
  'power_w', 'sm_clock_mhz', 'mem_clock_mhz', 'encoder_utilization', 'decoder_utilization'];

export const workers = new Map();      // id -> {id, state, hostname, tel, info}
export const gpus = new Map();         // uuid -> {uuid, index, model, memory_mib, worker, m, ts}
export const events = [];              // oldest first
export const state = { health: null, healthError: '', serverOffset: 0, eventsLoaded: false };
export const series = { heartbeats: [], tasks: [], use: [] };

const listeners = { workers: new Set(), gpus: new Set(), events: new Set(), health: new Set(), series: new Set() };
const changed = { workers: new Set(), gpus: new Set(), events: [], health: false, series: false };
const hbBuckets = new Map();           // bucket -> heartbeats
const taskBuckets = new Map();         // bucket -> [submitted, finished]
const seen = new Set();                // event ids, against the overlap of history and live
let started = 0;
let lastEventId = '';
// Counts state changes and telemetry, so that a /api/workers answer does
// not undo what happened after it was asked for.
let changes = 0;
const removedAt = new Map();           // worker id -> `changes` when removed

// Calls fn(changes) after frames where `kind` changed. Returns the undo.
export function on(kind, fn) {
  listeners[kind].add(fn);
  return () => listeners[kind].delete(fn);
}

const flush = coalesce(() => {
  const out = {
    workers: changed.workers.size ? new Set(changed.workers) : null,
    gpus: changed.gpus.size ? new Set(changed.gpus) : null,
    events: changed.events.length ? changed.events.splice(0) : null,
    health: changed.health, series: changed.series,
  };
  changed.workers.clear();
  changed.gpus.clear();
  changed.health = changed.series = false;
  for (const kind of Object.keys(listeners)) {
    if (!out[kind]) continue;
    for (const fn of listeners[kind]) fn(out[kind]);
  }
});

const bucketOf = ms => Math.floor(ms / 1000 / STEP_S);

// The worker's state as shown: events and /api/workers say it, telemetry
// corrects it between two of those.
function worker(id, active) {
  let w = workers.get(id);
  if (!w) {
    w = { id, state: active === false ? 'inactive' : 'active', hostname: id, tel: null, info: null, stateAt: 0, seenAt: 0 };
    workers.set(id, w);
  }
  return w;
}

function onTelemetry(data) {
  const w = worker(data.worker_id, data.is_active);
  w.tel = data;
  w.seenAt = ++changes;
  if (data.is_active === false && w.state === 'active') setState(w, 'inactive');
  else if (data.is_active && (w.state === 'inactive' || w.state === 'offline')) setState(w, 'active');
  for (const g of data.gpus || []) {
    let e = gpus.get(g.uuid);
    if (!e) gpus.set(g.uuid, e = { uuid: g.uuid, m: {} });
    e.index = g.index;
    e.model = g.model;
    e.memory_mib = g.memory_mib;
    e.worker = w.id;
    e.ts = toMs(g.timestamp);
    for (const k of GPU_METRICS) if (g[k] !== undefined) e.m[k] = g[k];
    changed.gpus.add(g.uuid);
  }
  changed.workers.add(w.id);
  flush();
}

function setState(w, st) {
  w.state = st;
  w.stateAt = ++changes;
  changed.workers.add(w.id);
}

function forget(id) {
  workers.delete(id);
  for (const [uuid, g] of gpus) if (g.worker === id) { gpus.delete(uuid); changed.gpus.add(uuid); }
  changed.workers.add(id);
}

const EVENT_STATE = { 'worker.active': 'active', 'worker.inactive': 'inactive', 'worker.offline': 'offline',
  'worker.lost': 'offline', 'worker.draining': 'draining' };

// live: the event happened now (not history), so it may change a state.
function addEvent(msg, isLive) {
  if (seen.has(msg.id)) return;
  seen.add(msg.id);
  const e = { ...msg.event, id: msg.id, ms: parseInt(msg.id, 10) };
  events.push(e);
  if (events.length > MAX_EVENTS) for (const old of events.splice(0, events.length - MAX_EVENTS)) seen.delete(old.id);
  if (isLive) lastEventId = msg.id;
  const t = e.type || '';
  if (t === 'task.queued' || /^task\.(completed|failed|cancelled)$/.test(t)) {
    const b = bucketOf(e.ms - state.serverOffset);    // gantryd's clock to the page's
    const v = taskBuckets.get(b) || [0, 0];
    v[t === 'task.queued' ? 0 : 1]++;
    taskBuckets.set(b, v);
  }
  if (isLive && e.worker_id && t.startsWith('worker.')) {
    if (t === 'worker.removed') { forget(e.worker_id); removedAt.set(e.worker_id, ++changes); }
    else if (EVENT_STATE[t]) setState(worker(e.worker_id), EVENT_STATE[t]);
    else refreshWorkersSoon();
  }
  changed.events.push(e);
  flush();
}

// /api/workers: states, hostnames, resources, labels; workers gone since
// are forgotten.
export async function refreshWorkers() {
  const asked = changes;
  const list = (await api.get('/api/workers')).workers || [];
  const ids = new Set();
  for (const d of list) {
    if (removedAt.get(d.worker_id) > asked) continue;
    removedAt.delete(d.worker_id);
    const w = worker(d.worker_id, d.is_active);
    if (w.stateAt <= asked) w.state = d.state;
    w.hostname = d.hostname || d.worker_id;
    w.info = d;
    ids.add(d.worker_id);
    changed.workers.add(d.worker_id);
  }
  for (const [id, w] of [...workers]) if (!ids.has(id) && w.seenAt <= asked && w.stateAt <= asked) forget(id);
  flush();
}

let refreshTimer = 0;
function refreshWorkersSoon() {
  clearTimeout(refreshTimer);
  refreshTimer = setTimeout(() => refreshWorkers().catch(() => {}), 1000);
}

async function pollHealth() {
  try {
    const h = await api.get('/health');
    state.health = h;
    state.healthError = '';
    const t = toMs(h.time);
    if (isFinite(t)) state.serverOffset = t - Date.now();
  } catch (e) {
    state.healthError = e.message || 'gantryd cannot be reached';
  }
  changed.health = true;
  flush();
}

// The events of the last 15 minutes, oldest first, before the live ones.
async function loadEventHistory() {
  let since = `${Math.floor(Date.now() + state.serverOffset - WINDOW_S * 1000)}-0`;
  for (let pages = 0; pages < 20; pages++) {
    const r = await api.get(api.query('/api/events', { since, limit: 1000 }));
    for (const e of r.events || []) addEvent({ id: e.id, event: e }, false);
    if (!r.events || r.events.length < 1000 || !r.next) break;
    since = r.next;
  }
  events.sort((a, b) => a.ms - b.ms || (a.id < b.id ? -1 : 1));
  state.eventsLoaded = true;
  changed.series = true;
  flush();
}

// Every STEP_S seconds: rates from the buckets, use from the workers.
function tick() {
  const last = bucketOf(Date.now()) - 1;
  const first = last - WINDOW_S / STEP_S + 1;
  const firstLive = bucketOf(started) + 1;
  const firstTasks = state.eventsLoaded ? first : firstLive;
  const hb = [];
  const tasks = [];
  for (let b = first; b <= last; b++) {
    const at = new Date(b * STEP_S * 1000);
    hb.push([at, b >= firstLive ? (hbBuckets.get(b) || 0) / STEP_S : null]);
    const tv = taskBuckets.get(b) || [0, 0];
    tasks.push([at, b >= firstTasks ? tv[0] / STEP_S : null, b >= firstTasks ? tv[1] / STEP_S : null]);
  }
  for (const m of [hbBuckets, taskBuckets]) for (const b of m.keys()) if (b < first) m.delete(b);
  series.heartbeats = hb;
  series.tasks = tasks;
  series.use.push([new Date(), ...clusterUse()]);
  while (series.use.length && series.use[0][0] < (first * STEP_S * 1000)) series.use.shift();
  changed.series = true;
  flush();
}

// Mean CPU and memory use of the active workers (weighted by their cores
// and memory when known) and mean utilisation of their GPUs, in percent.
export function clusterUse() {
  let cpu = 0, cpuW = 0, mem = 0, memW = 0, gpu = 0, ng = 0;
  for (const w of workers.values()) {
    if (!w.tel || w.state === 'offline' || w.state === 'inactive') continue;
    const total = (w.info && w.info.total_resources) || {};
    const cw = total.cpu || 1, mw = total.memory || 1;
    cpu += w.tel.cpu_usage * cw; cpuW += cw;
    mem += w.tel.memory_usage * mw; memW += mw;
    for (const g of w.tel.gpus || []) {
      const e = gpus.get(g.uuid);
      if (e && typeof e.m.utilization === 'number') { gpu += e.m.utilization; ng++; }
    }
  }
  return [cpuW ? cpu / cpuW : null, memW ? mem / memW : null, ng ? gpu / ng : null];
}

export function countStates() {
  const c = { active: 0, inactive: 0, offline: 0, draining: 0 };
  for (const w of workers.values()) c[w.state] = (c[w.state] || 0) + 1;
  return c;
}

// Starts everything; the views read what is here and listen with on().
export async function start() {
  started = Date.now();
  live.on('snapshot', m => { for (const id in m.workers || {}) onTelemetry(m.workers[id]); });
  live.on('telemetry', m => {
    const b = bucketOf(Date.now());
    hbBuckets.set(b, (hbBuckets.get(b) || 0) + 1);
    onTelemetry(m.data);
  });
  live.on('event', m => addEvent(m, true));
  // Updates were dropped for us: a new subscription brings a new snapshot.
  let telemetry = live.subscribe({ topic: 'telemetry' });
  live.on('lagged', () => { telemetry(); telemetry = live.subscribe({ topic: 'telemetry' }); });
  let connected = false;
  live.onState(up => {
    if (up && connected) refreshWorkersSoon();
    connected = connected || up;
  });
  live.subscribe({ topic: 'events', from: () => lastEventId });
  live.start();
  await pollHealth();
  setInterval(pollHealth, 5000);
  setInterval(tick, STEP_S * 1000);
  setInterval(() => refreshWorkers().catch(() => {}), 30000);
  await Promise.all([refreshWorkers().catch(() => {}), loadEventHistory().catch(() => {})]);
  tick();
}
