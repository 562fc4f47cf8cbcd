// The form that submits a task (POST /api/tasks): a shell command or an
// image, resources, priority and, optionally, the one worker to run on.
// A refused field is marked with the server's message.
import * as api from './api.js';
import * as store from './store.js';
import { h } from './dom.js';

const field = (label, input, cls) => h('label', { class: cls || null }, label, input);

// Returns {el}; onDone(task_id) runs after a 201.
export function submitForm(onDone) {
  const command = h('input', { name: 'command', placeholder: 'echo hello; sleep 5', autocomplete: 'off' });
  const image = h('input', { name: 'docker_image', placeholder: 'optional, e.g. python:3.12', autocomplete: 'off' });
  const cpu = h('input', { name: 'cpu_required', type: 'number', min: '0.01', step: 'any', value: '1' });
  const mem = h('input', { name: 'memory_required', type: 'number', min: '1', step: '1', value: '256' });
  const gpu = h('input', { name: 'gpu_required', type: 'number', min: '0', step: 'any', value: '0' });
  const model = h('input', { name: 'gpu_model', placeholder: 'any', autocomplete: 'off' });
  const prio = h('input', { name: 'priority', type: 'number', min: '0', max: '10', step: '1', value: '5' });
  const worker = h('select', { name: 'pinned_worker' }, h('option', { value: '' }, 'any worker'));
  const error = h('p', { class: 'error', role: 'alert' });
  const button = h('button', { type: 'submit', class: 'primary' }, 'Submit');
  const form = h('form', { class: 'fields', id: 'submit-form', novalidate: true },
    field('Command (run with /bin/sh -c)', command, 'half'), field('Image', image, 'half'),
    field('CPU cores', cpu), field('Memory (MiB)', mem), field('GPUs', gpu), field('GPU model', model),
    field('Priority (0-10)', prio), field('Worker', worker, 'half'),
    h('div', { class: 'actions' }, button, error));

  const fillWorkers = () => {
    const chosen = worker.value;
    const ids = [...store.workers.keys()].sort((a, b) => a.localeCompare(b, undefined, { numeric: true }));
    if (ids.join() === worker.dataset.ids) return;
    worker.dataset.ids = ids.join();
    worker.replaceChildren(h('option', { value: '' }, 'any worker'), ...ids.map(id => h('option', { value: id, selected: id === chosen }, id)));
  };
  fillWorkers();
  if (!api.auth.admin) { button.disabled = true; button.title = 'needs an admin token'; }

  form.onsubmit = async ev => {
    ev.preventDefault();
    for (const l of form.querySelectorAll('label.bad')) l.classList.remove('bad');
    error.textContent = '';
    const body = {};
    if (command.value.trim()) body.command = command.value.trim();
    if (image.value.trim()) body.docker_image = image.value.trim();
    for (const input of [cpu, mem, gpu, prio]) if (input.value !== '') body[input.name] = Number(input.value);
    if (model.value.trim()) body.gpu_model = model.value.trim();
    if (worker.value) body.pinned_worker = worker.value;
    button.disabled = true;
    try {
      const r = await api.request('POST', '/api/tasks', body);
      onDone(r.task_id);
    } catch (e) {
      error.textContent = e.message;
      const bad = e.field && form.querySelector(`[name="${e.field}"]`);
      if (bad) { bad.parentElement.classList.add('bad'); bad.focus(); }
    } finally {
      button.disabled = !api.auth.admin;
    }
  };
  return { el: form, fillWorkers };
}
