// One task: its fields (GET /api/tasks/{id}, again on each of its events
// and every 3 s while it waits, since its reason may change), its log
// followed live over /ws/tasks/{id}/logs, and the Cancel action.
import * as api from './api.js';
import * as store from './store.js';
import { stream } from './ws.js';
import { h, setText, setBadge, badge, num, mib, stamp, duration, toMs, throttle, coalesce, commandText, link, workerHref } from './dom.js';
import { armed } from './actions.js';

const TERMINAL = new Set(['completed', 'failed', 'cancelled']);
const MAX_LOG_NODES = 5000;
const idNum = id => id.split('-').map(Number);
const after = (a, b) => { const x = idNum(a), y = idNum(b); return x[0] > y[0] || (x[0] === y[0] && x[1] > y[1]); };

function fields(t) {
  const a = t.assignment || {};
  const rows = [
    ['worker', t.worker_id ? link(workerHref(t.worker_id), t.worker_id) : '–'],
    ['command', h('span', { class: 'mono' }, commandText({ command: t.command }) || '–')],
    ['image', t.docker_image || '–'],
    ['resources', `${num(t.cpu_required, 2)} core${t.cpu_required === 1 ? '' : 's'} · ${mib(t.memory_required)} · ${num(t.gpu_required, 2)} GPU${t.gpu_model ? ` (${t.gpu_model})` : ''}${t.storage_required ? ` · ${mib(t.storage_required)} disk` : ''}`],
    ['priority', t.priority],
    ['attempts', `${t.attempts} of ${t.max_attempts}`],
    ['exit code', t.exit_code ?? '–'],
    ['reason', t.reason || '–'],
    ['created', stamp(t.created_at)],
    ['assigned', stamp(t.assigned_at)],
    ['started', stamp(t.started_at)],
    ['finished', stamp(t.finished_at)],
    ['run time', t.started_at ? duration(((toMs(t.finished_at) || Date.now()) - toMs(t.started_at)) / 1000) : '–'],
  ];
  if (a.gpus && a.gpus.length) rows.push(['GPUs', a.gpus.join(', ') + (a.gpu_share ? ` (share ${a.gpu_share})` : '')]);
  if (t.timeout) rows.push(['timeout', duration(t.timeout)]);
  if (t.user_id) rows.push(['user', t.user_id]);
  if (t.tag) rows.push(['tag', t.tag]);
  const labels = Object.entries(t.labels || {});
  if (labels.length) rows.push(['labels', labels.map(([k, v]) => `${k}=${v}`).join(' ')]);
  const env = Object.keys(t.env || {});
  if (env.length) rows.push(['env', env.join(' ')]);
  return rows.flatMap(([k, v]) => [h('dt', null, k), h('dd', { dataset: { field: k } }, v)]);
}

export function mount(main, route) {
  const id = route.id;
  const status = badge('queued');
  status.id = 'task-status';
  const cancel = h('button', { type: 'button', class: 'danger', id: 'cancel' }, 'Cancel');
  const waiting = h('div', { class: 'notice', id: 'task-reason', hidden: true });
  const error = h('p', { class: 'error', role: 'alert' });
  const kv = h('dl', { class: 'kv' });
  const log = h('pre', { class: 'log', id: 'log', 'aria-live': 'off' });
  const logState = h('small', { id: 'log-state' }, 'connecting…');
  main.append(
    h('div', { class: 'bar-row' }, h('h1', null, h('span', { class: 'mono' }, id), status), h('span', { class: 'grow' }), cancel),
    error, waiting,
    h('div', { class: 'grid2' }, h('section', { class: 'card' }, h('h2', null, 'Task'), kv),
      h('section', { class: 'card' }, h('h2', null, 'Log', logState), log)));

  let task = null;
  let poll = 0;
  const draw = () => {
    setBadge(status, task.status);
    kv.replaceChildren(...fields(task));
    const wait = task.status === 'queued' && task.reason;
    waiting.hidden = !wait;
    if (wait) setText(waiting, `Waiting: ${task.reason}`);
    cancel.disabled = TERMINAL.has(task.status) || !api.auth.admin;
    cancel.title = api.auth.admin ? '' : 'needs an admin token';
    clearTimeout(poll);
    if (!TERMINAL.has(task.status)) poll = setTimeout(load, 3000);
  };
  const load = async () => {
    try {
      task = await api.get(`/api/tasks/${encodeURIComponent(id)}`);
      error.textContent = '';
      draw();
    } catch (e) { error.textContent = e.status === 404 ? `No task ${id}.` : e.message; }
  };
  armed(cancel, 'Really cancel?', async () => {
    try {
      await api.request('DELETE', `/api/tasks/${encodeURIComponent(id)}`);
      await load();
    } catch (e) { error.textContent = e.message; }
  });

  // Lines arrive in bursts; they are added once per frame, in one piece.
  let pending = [];
  let lastId = '';
  let atLineStart = true;
  let closeLog = null;
  const flushLog = () => {
    if (!pending.length) return;
    const atEnd = log.scrollTop + log.clientHeight >= log.scrollHeight - 4;
    const frag = document.createDocumentFragment();
    for (const [cls, text] of pending) frag.append(cls ? h('span', { class: cls }, text) : text);
    pending = [];
    log.append(frag);
    while (log.childNodes.length > MAX_LOG_NODES) log.firstChild.remove();
    if (atEnd) log.scrollTop = log.scrollHeight;
  };
  const logFrame = coalesce(flushLog);
  const follow = () => {
    setText(logState, 'following');
    closeLog = stream(`/ws/tasks/${encodeURIComponent(id)}/logs`, m => {
      if (m.type === 'log') {
        if (lastId && m.id && !after(m.id, lastId)) return;
        if (m.id) lastId = m.id;
        pending.push([m.stream === 'stderr' ? 'err' : '', m.data]);
        atLineStart = m.data.endsWith('\n');
      } else if (m.type === 'end') {
        pending.push(['end', `${atLineStart ? '' : '\n'}— ${m.status}${m.exit_code !== null && m.exit_code !== undefined ? `, exit code ${m.exit_code}` : ''}${m.reason ? ` (${m.reason})` : ''}\n`]);
        setText(logState, m.status);
        load();
      }
      logFrame();
    }, ev => {
      closeLog = null;
      if (ev.code === 1000) return;
      setText(logState, 'reconnecting…');
      setTimeout(() => { if (!closeLog && log.isConnected) follow(); }, 2000);
    });
  };
  load();
  follow();
  const refresh = throttle(load, 300);
  const off = store.on('events', evs => { if (evs.some(e => e.task_id === id)) refresh(); });
  return () => { off(); clearTimeout(poll); if (closeLog) closeLog(); };
}
