// Events: the cluster's event stream (the store's: the last 15 minutes
// from /api/events, then live from /ws), newest first, filtered by kind,
// type and by a worker or task id. New events are added in one piece per
// frame; the list keeps at most 1,000 rows.
import * as store from './store.js';
import { h, setText, clock, stamp, num, link, workerHref, taskHref } from './dom.js';

const MAX_ROWS = 1000;
const TYPES = ['worker.joined', 'worker.registered', 'worker.active', 'worker.inactive', 'worker.offline', 'worker.draining',
  'worker.lost', 'worker.removed', 'task.queued', 'task.assigned', 'task.running', 'task.completed', 'task.failed',
  'task.cancelled', 'task.cancel_requested'];

function row(e) {
  const kind = e.type.split('.')[1] || e.type;
  return h('tr', { dataset: { eventId: e.id, type: e.type } },
    h('td', { class: 'mono', title: stamp(e.ms) }, clock(e.ms)),
    h('td', null, h('span', { class: `badge s-${kind}` }, e.type)),
    h('td', null, e.worker_id ? link(workerHref(e.worker_id), e.worker_id) : ''),
    h('td', null, e.task_id ? link(taskHref(e.task_id), e.task_id) : ''),
    h('td', { class: 'num opt' }, e.exit_code ?? ''),
    h('td', { class: 'wrap muted opt' }, [e.attempts > 1 ? `attempt ${e.attempts}` : '', e.reason || ''].filter(Boolean).join(' · ')));
}

export function mount(main, route) {
  const opts = { kind: route.params.get('kind') || '', type: route.params.get('type') || '', q: route.params.get('q') || '' };
  const kindSel = h('select', { 'aria-label': 'Kind' }, h('option', { value: '' }, 'workers and tasks'),
    h('option', { value: 'worker.', selected: opts.kind === 'worker.' }, 'workers'), h('option', { value: 'task.', selected: opts.kind === 'task.' }, 'tasks'));
  const typeSel = h('select', { 'aria-label': 'Type' }, h('option', { value: '' }, 'every type'),
    TYPES.map(t => h('option', { value: t, selected: t === opts.type }, t)));
  const search = h('input', { type: 'search', placeholder: 'Worker or task id', value: opts.q, 'aria-label': 'Worker or task id' });
  const count = h('span', { class: 'muted' });
  const tbody = h('tbody');
  const empty = h('div', { class: 'empty' }, 'No events match.');
  main.append(
    h('div', { class: 'bar-row' }, h('h1', null, 'Events'), count, h('span', { class: 'grow' }), kindSel, typeSel, search),
    h('div', { class: 'table-wrap' }, h('table', { class: 'events', id: 'events-table' }, h('thead', null, h('tr', null,
      ['Time', 'Event', 'Worker', 'Task', 'Exit', 'Detail'].map((x, i) => h('th', { class: i > 3 ? 'opt' : null }, x)))), tbody), empty));

  let newest = -Infinity;
  const match = e => (!opts.kind || e.type.startsWith(opts.kind)) && (!opts.type || e.type === opts.type) &&
    (!opts.q || (e.worker_id || '').includes(opts.q) || (e.task_id || '').includes(opts.q));
  const status = () => {
    setText(count, `${num(tbody.rows.length)} shown of ${num(store.events.length)} kept`);
    empty.hidden = tbody.rows.length > 0;
  };
  const render = () => {
    const list = store.events.filter(match).slice(-MAX_ROWS).reverse();
    tbody.replaceChildren(...list.map(row));
    newest = store.events.length ? store.events[store.events.length - 1].ms : -Infinity;
    status();
  };
  const add = evs => {
    if (evs.some(e => e.ms < newest)) { render(); return; }  // history arrived after live ones
    const rows = evs.filter(match).map(row).reverse();
    newest = Math.max(newest, ...evs.map(e => e.ms));
    if (!rows.length) return;
    tbody.prepend(...rows);
    while (tbody.rows.length > MAX_ROWS) tbody.lastChild.remove();
    status();
  };
  const keepInUrl = () => {
    const q = new URLSearchParams(Object.entries(opts).filter(([, v]) => v)).toString();
    history.replaceState(null, '', `#/events${q ? `?${q}` : ''}`);
  };
  kindSel.onchange = () => { opts.kind = kindSel.value; keepInUrl(); render(); };
  typeSel.onchange = () => { opts.type = typeSel.value; keepInUrl(); render(); };
  search.oninput = () => { opts.q = search.value.trim(); keepInUrl(); render(); };
  render();
  return store.on('events', add);
}
