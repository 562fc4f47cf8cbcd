// Small helpers the views share: building elements, changing text only
// when it differs, one run per animation frame, and formatting values.

// h('a', {href: '#/', class: 'x', onclick: fn}, 'text', child...) builds an
// element; null, undefined and false props and children are left out.
export function h(tag, props, ...kids) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(props || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k === 'text') el.textContent = v;
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? '' : v);
  }
  for (const kid of kids.flat()) {
    if (kid !== null && kid !== undefined && kid !== false) el.append(kid instanceof Node ? kid : String(kid));
  }
  return el;
}

export function setText(el, s) {
  s = String(s);
  if (el.textContent !== s) el.textContent = s;
}

// A function that, however often called, runs fn once at the next frame.
export function coalesce(fn) {
  let queued = false;
  return () => {
    if (queued) return;
    queued = true;
    requestAnimationFrame(() => { queued = false; fn(); });
  };
}

// A function that runs fn at most once per `ms` (and once more after the
// last call), for redraws that need not follow every frame.
export function throttle(fn, ms) {
  let last = 0, timer = 0;
  return () => {
    if (timer) return;
    const wait = Math.max(0, last + ms - Date.now());
    timer = setTimeout(() => { timer = 0; last = Date.now(); fn(); }, wait);
  };
}

// Buttons of which one is pressed: choices [[value, label], ...]; onPick
// gets the value of the one pressed. Each button carries data-choice.
export function segmented(label, choices, current, onPick) {
  const seg = h('span', { class: 'seg', role: 'group', 'aria-label': label });
  for (const [value, text] of choices) {
    seg.append(h('button', { type: 'button', dataset: { choice: value }, 'aria-pressed': String(value === current), onclick: () => {
      for (const b of seg.children) b.setAttribute('aria-pressed', String(b.dataset.choice === String(value)));
      onPick(value);
    } }, text));
  }
  return seg;
}

// A state badge (workers and tasks share the class names).
export function badge(state) {
  return h('span', { class: `badge s-${state}`, dataset: { state } }, state);
}

export function setBadge(el, state) {
  if (el.dataset.state === state) return;
  el.dataset.state = state;
  el.className = `badge s-${state}`;
  el.textContent = state;
}

// A percentage as a small bar and a number; update it with setMeter.
export function meter(v) {
  const m = h('span', { class: 'meter' }, h('span', null, h('i')), h('b'));
  setMeter(m, v);
  return m;
}

export function setMeter(m, v) {
  const ok = typeof v === 'number' && isFinite(v);
  const w = ok ? `${Math.max(0, Math.min(100, v)).toFixed(0)}%` : '0%';
  const bar = m.firstChild.firstChild;
  if (bar.style.width !== w) bar.style.width = w;
  setText(m.lastChild, ok ? pct(v) : '–');
}

// A time as milliseconds: RFC 3339 strings and Unix seconds (or ms) alike.
export function toMs(t) {
  if (typeof t === 'number') return t < 1e11 ? t * 1000 : t;
  if (typeof t === 'string' && t) return Date.parse(t);
  return NaN;
}

export function pct(v) {
  if (typeof v !== 'number' || !isFinite(v)) return '–';
  return `${v.toFixed(v >= 10 || v === 0 ? 0 : 1)}%`;
}

export function num(v, digits = 0) {
  if (typeof v === 'string' && v !== '') v = Number(v);
  if (typeof v !== 'number' || !isFinite(v)) return '–';
  return v.toLocaleString('en-US', { maximumFractionDigits: digits });
}

export function mib(v) {
  if (typeof v !== 'number' || !isFinite(v)) return '–';
  if (v >= 1024 * 1024) return `${(v / 1024 / 1024).toFixed(1)} TiB`;
  if (v >= 1024) return `${(v / 1024).toFixed(v >= 10240 ? 0 : 1)} GiB`;
  return `${v.toFixed(0)} MiB`;
}

export function ago(t) {
  const ms = toMs(t);
  if (!isFinite(ms)) return '–';
  const s = Math.round((Date.now() - ms) / 1000);
  if (s < 2) return 'just now';
  if (s < 90) return `${s}s ago`;
  if (s < 5400) return `${Math.round(s / 60)}m ago`;
  if (s < 172800) return `${Math.round(s / 3600)}h ago`;
  return `${Math.round(s / 86400)}d ago`;
}

export function clock(t) {
  const ms = toMs(t);
  if (!isFinite(ms)) return '–';
  const d = new Date(ms);
  const p = (n, w = 2) => String(n).padStart(w, '0');
  return `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}`;
}

export function stamp(t) {
  const ms = toMs(t);
  if (!isFinite(ms)) return '–';
  const d = new Date(ms);
  return `${d.toISOString().slice(0, 10)} ${clock(ms).slice(0, 8)}`;
}

export function duration(s) {
  if (typeof s !== 'number' || !isFinite(s)) return '–';
  if (s < 60) return `${s.toFixed(s < 10 ? 1 : 0)}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${Math.round(s % 60)}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ${Math.round((s % 3600) / 60)}m`;
  return `${Math.floor(s / 86400)}d ${Math.round((s % 86400) / 3600)}h`;
}

// A task's command (argv array or shell string) or image, as one line.
export function commandText(t) {
  const cmd = Array.isArray(t.command) ? t.command.join(' ') : (t.command || '');
  return [t.docker_image, cmd].filter(Boolean).join(' ');
}

export function link(href, text, props) {
  return h('a', { href, ...props }, text);
}

export const workerHref = id => `#/workers/${encodeURIComponent(id)}`;
export const taskHref = id => `#/tasks/${encodeURIComponent(id)}`;
export const gpuHref = uuid => `#/gpus/${encodeURIComponent(uuid)}`;
