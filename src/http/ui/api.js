// The HTTP API: the token kept in this tab (sessionStorage), JSON in and
// out, and failures as ApiError carrying the server's code, message and
// field. A 401 tells the app, which asks for a token again.
const KEY = 'gantry.token';

export const auth = {
  required: false,
  role: 'admin',
  get token() { return sessionStorage.getItem(KEY) || ''; },
  set token(t) { if (t) sessionStorage.setItem(KEY, t); else sessionStorage.removeItem(KEY); },
  get admin() { return this.role === 'admin'; },
  onUnauthorized: () => {},
};

export class ApiError extends Error {
  constructor(status, body) {
    const e = (body && body.error) || {};
    super(e.message || `HTTP ${status}`);
    this.status = status;
    this.code = e.code || '';
    this.field = e.field || '';
  }
}

function headers() {
  return auth.token ? { Authorization: `Bearer ${auth.token}` } : {};
}

export async function request(method, path, body) {
  const init = { method, headers: headers() };
  if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers['Content-Type'] = 'application/json';
  }
  const r = await fetch(path, init);
  const text = await r.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = null; }
  if (r.status === 401) auth.onUnauthorized();
  if (!r.ok) throw new ApiError(r.status, data);
  return data;
}

export const get = path => request('GET', path);

// path?k=v&... leaving out empty values.
export function query(path, params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params || {})) if (v !== '' && v !== null && v !== undefined) q.set(k, v);
  const s = q.toString();
  return s ? `${path}?${s}` : path;
}

// {auth_required, role} for token (default: the tab's). Public: no 401.
export async function session(token = auth.token) {
  const r = await fetch('/ui/session', { headers: token ? { Authorization: `Bearer ${token}` } : {} });
  return r.json();
}

// The cluster-wide counters at the head of /metrics (workers by state,
// tasks by status, queue depth, heartbeats): the rest of the document, one
// series per worker and per GPU, is not read.
export async function metricsHead() {
  const r = await fetch('/metrics', { headers: headers() });
  if (r.status === 401) auth.onUnauthorized();
  if (!r.ok) throw new ApiError(r.status, null);
  const reader = r.body.getReader();
  const dec = new TextDecoder();
  let text = '';
  for (;;) {
    const { done, value } = await reader.read();
    if (value) text += dec.decode(value, { stream: !done });
    if (done) break;
    if (/^gantry_queue_depth .*\n/m.test(text)) { reader.cancel().catch(() => {}); break; }
  }
  const out = { workers: {}, tasks: {}, queue: NaN, heartbeats: NaN };
  for (const m of text.matchAll(/^gantry_(workers|tasks)\{\w+="(\w+)"\} (\S+)$/gm)) out[m[1]][m[2]] = Number(m[3]);
  const q = text.match(/^gantry_queue_depth (\S+)$/m);
  if (q) out.queue = Number(q[1]);
  const hb = text.match(/^gantry_heartbeats_total (\S+)$/m);
  if (hb) out.heartbeats = Number(hb[1]);
  return out;
}

// A time series in [start, end], oldest first, however many pages of
// `limit` it takes (the next page starts at the last time seen), up to max
// items.
export async function series(path, key, start, end, limit = 5000, max = 50000) {
  const items = [];
  let from = start;
  for (;;) {
    const page = (await get(query(path, { start_time: from, end_time: end, limit })))[key] || [];
    const last = items.length ? Date.parse(items[items.length - 1].timestamp) : -Infinity;
    for (const it of page) if (Date.parse(it.timestamp) > last) items.push(it);
    if (page.length < limit || items.length >= max || !page.length) return items;
    const next = page[page.length - 1].timestamp;
    if (next === from) return items;
    from = next;
  }
}

// The ws:// (or wss://) URL of path, with the token as the API takes it
// from browsers.
export function wsUrl(path) {
  const u = new URL(path, location.href);
  u.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
  if (auth.token) u.searchParams.set('access_token', auth.token);
  return u.toString();
}
