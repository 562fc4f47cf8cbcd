// Tasks: the newest tasks (GET /api/tasks) filtered by status and worker,
// reloaded when task events arrive (at most once a second), and the form
// that submits one.
import * as api from './api.js';
import * as store from './store.js';
import { h, badge, num, mib, ago, throttle, commandText, link, workerHref, taskHref } from './dom.js';
import { submitForm } from './submit.js';

const STATUSES = ['queued', 'assigned', 'running', 'completed', 'failed', 'cancelled'];

export function mount(main, route) {
  const opts = { status: route.params.get('status') || '', worker: route.params.get('worker') || '' };
  const statusSel = h('select', { 'aria-label': 'Status', id: 'task-status-filter' }, h('option', { value: '' }, 'all statuses'),
    STATUSES.map(s => h('option', { value: s, selected: s === opts.status }, s)));
  const workerSel = h('select', { 'aria-label': 'Worker', id: 'task-worker-filter' });
  const tbody = h('tbody');
  const error = h('p', { class: 'error', role: 'alert' });
  const more = h('span', { class: 'muted' });
  const form = submitForm(id => { location.hash = taskHref(id); });
  // Open on a desktop; on a phone it would push the list off the screen.
  const details = h('details', { class: 'card', id: 'submit', open: matchMedia('(min-width: 721px)').matches },
    h('summary', null, h('b', null, 'Submit a task')), form.el);
  main.append(
    h('div', { class: 'bar-row' }, h('h1', null, 'Tasks'), more, h('span', { class: 'grow' }), statusSel, workerSel),
    details, error,
    h('div', { class: 'table-wrap' }, h('table', { id: 'tasks-table' }, h('thead', null, h('tr', null,
      ['Task', 'Status', 'Worker', 'Command', 'Priority', 'CPU', 'Memory', 'GPU', 'Attempts', 'Exit', 'Created', 'Reason']
        .map((x, i) => h('th', { class: `${i >= 4 && i <= 9 ? 'num' : ''} ${i >= 4 && i !== 9 ? 'opt' : ''}` }, x)))), tbody)));

  const fillWorkers = () => {
    const ids = [...store.workers.keys()].sort((a, b) => a.localeCompare(b, undefined, { numeric: true }));
    if (opts.worker && !ids.includes(opts.worker)) ids.push(opts.worker);
    if (ids.join() === workerSel.dataset.ids) return;
    workerSel.dataset.ids = ids.join();
    workerSel.replaceChildren(h('option', { value: '' }, 'all workers'), ...ids.map(id => h('option', { value: id, selected: id === opts.worker }, id)));
    form.fillWorkers();
  };
  const load = async () => {
    try {
      const r = await api.get(api.query('/api/tasks', { status: opts.status, worker_id: opts.worker, limit: 200 }));
      error.textContent = '';
      tbody.replaceChildren(...r.tasks.map(t => h('tr', { dataset: { taskId: t.task_id } },
        h('td', null, link(taskHref(t.task_id), t.task_id)), h('td', null, badge(t.status)),
        h('td', null, t.worker_id ? link(workerHref(t.worker_id), t.worker_id) : '–'),
        h('td', { class: 'wrap mono' }, commandText(t)),
        h('td', { class: 'num opt' }, t.priority), h('td', { class: 'num opt' }, num(t.cpu_required, 2)),
        h('td', { class: 'num opt' }, mib(t.memory_required)), h('td', { class: 'num opt' }, num(t.gpu_required, 2)),
        h('td', { class: 'num opt' }, `${t.attempts}/${t.max_attempts}`), h('td', { class: 'num' }, t.exit_code ?? '–'),
        h('td', { class: 'opt' }, ago(t.created_at)), h('td', { class: 'wrap opt muted' }, t.reason || ''))));
      if (!r.tasks.length) tbody.append(h('tr', null, h('td', { class: 'empty', colspan: 12 }, 'No tasks match.')));
      more.textContent = r.next_cursor ? `newest ${r.tasks.length} shown` : `${r.tasks.length} shown`;
    } catch (e) { error.textContent = e.message; }
  };
  const keepInUrl = () => {
    const s = api.query('', { status: opts.status, worker: opts.worker });
    history.replaceState(null, '', `#/tasks${s}`);
  };
  statusSel.onchange = () => { opts.status = statusSel.value; keepInUrl(); load(); };
  workerSel.onchange = () => { opts.worker = workerSel.value; keepInUrl(); load(); };
  fillWorkers();
  load();
  const reload = throttle(load, 1000);
  const offs = [
    store.on('events', evs => { if (evs.some(e => e.task_id)) reload(); }),
    store.on('workers', throttle(fillWorkers, 2000)),
  ];
  const ages = setInterval(reload, 15000);
  return () => { offs.forEach(off => off()); clearInterval(ages); };
}
