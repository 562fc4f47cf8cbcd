// The console's entry: asks for a token when the API has tokens, starts the
// live store, keeps the header current, and shows the view the location's
// hash names (#/workers/ID, #/gpus/UUID, #/tasks/ID...), so that links and
// reloads land on the same page.
import { auth, session } from './api.js';
import { live } from './ws.js';
import * as store from './store.js';
import { setText } from './dom.js';
import * as overview from './overview.js';
import * as workersView from './workers.js';
import * as workerView from './worker.js';
import * as gpusView from './gpus.js';
import * as gpuView from './gpu.js';
import * as tasksView from './tasks.js';
import * as taskView from './task.js';
import * as eventsView from './events.js';

const main = document.getElementById('view');
let unmount = null;

// #/section/id?k=v -> {section, id, params}
function parseHash() {
  const raw = location.hash.replace(/^#\/?/, '');
  const [path, q] = raw.split('?');
  const [section = '', ...rest] = path.split('/');
  return { section, id: rest.length ? decodeURIComponent(rest.join('/')) : '', params: new URLSearchParams(q || '') };
}

const views = {
  '': [overview, overview],
  workers: [workersView, workerView],
  gpus: [gpusView, gpuView],
  tasks: [tasksView, taskView],
  events: [eventsView, eventsView],
};

function show() {
  const route = parseHash();
  const pair = views[route.section] || views[''];
  const view = route.id ? pair[1] : pair[0];
  if (unmount) unmount();
  main.replaceChildren();
  window.scrollTo(0, 0);
  for (const a of document.querySelectorAll('#nav a')) {
    a.classList.toggle('current', a.dataset.view === (route.section || 'overview'));
  }
  document.title = `${route.id || (route.section ? route.section[0].toUpperCase() + route.section.slice(1) : 'Overview')} · Gantry`;
  unmount = view.mount(main, route) || null;
}

function header() {
  const el = document.getElementById('health');
  store.on('health', () => {
    const h = store.state.health;
    if (store.state.healthError || !h) {
      setText(el, store.state.healthError ? 'gantryd unreachable' : 'connecting…');
      el.classList.add('bad');
      return;
    }
    const ok = h.redis === 'up';
    el.classList.toggle('bad', !ok);
    setText(el, `${ok ? 'healthy' : 'degraded'} · redis ${h.redis} · ${h.active_workers}/${h.workers} workers active · ${h.queued_tasks ?? '–'} queued`);
  });
  const liveEl = document.getElementById('live');
  live.onState(up => {
    liveEl.className = `pill ${up ? 'live-on' : 'live-off'}`;
    setText(liveEl, up ? 'live' : 'offline');
  });
  const out = document.getElementById('signout');
  out.hidden = !auth.token;
  out.onclick = () => { auth.token = ''; live.stop(); location.reload(); };
}

// Shows the sign-in form until a token the API takes is typed.
function login() {
  const box = document.getElementById('login');
  const form = document.getElementById('login-form');
  const input = document.getElementById('login-token');
  const err = document.getElementById('login-error');
  box.hidden = false;
  document.getElementById('health').textContent = 'signed out';
  input.focus();
  return new Promise(resolve => {
    form.onsubmit = async ev => {
      ev.preventDefault();
      const s = await session(input.value.trim());
      if (s.role === 'none') {
        err.textContent = 'That token was not accepted.';
        input.select();
        return;
      }
      auth.token = input.value.trim();
      auth.role = s.role;
      box.hidden = true;
      resolve();
    };
  });
}

async function boot() {
  const fromUrl = new URLSearchParams(location.search).get('token');
  if (fromUrl) {
    auth.token = fromUrl;
    history.replaceState(null, '', location.pathname + location.hash);
  }
  const s = await session();
  auth.required = s.auth_required;
  auth.role = s.role;
  if (s.auth_required && s.role === 'none') {
    auth.token = '';
    await login();
  }
  auth.onUnauthorized = () => { auth.token = ''; live.stop(); location.reload(); };
  header();
  window.addEventListener('hashchange', show);
  const started = store.start();
  show();
  await started;
}

boot();
