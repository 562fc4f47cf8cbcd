// The GraphQL explorer: an editor for a query and its variables, the
// answer of POST /graphql, and the schema read by introspection, all from
// gantryd itself (no other network). The token is the console's: kept in
// this tab's sessionStorage under the same key.
const TOKEN_KEY = 'gantry.token';
const QUERY_KEY = 'gantry.graphql.query';
const VARS_KEY = 'gantry.graphql.variables';

const EXAMPLES = [
  ['Every GPU', '{\n  gpus {\n    id\n    uuid\n    hostname\n    name\n    device\n    status\n  }\n}\n'],
  ['One GPU and its latest samples',
    'query OneGpu($uuid: String!) {\n  gpu(uuid: $uuid) {\n    id\n    uuid\n    hostname\n    name\n' +
    '    telemetry(limit: 10, order: DESC) {\n      timestamp\n      gpuUtilization\n' +
    '      memoryUtilization\n      temperature\n      powerDraw\n    }\n  }\n}\n',
    '{"uuid": "GPU-..."}'],
  ['Clusters, hosts, GPUs',
    '{\n  clusters {\n    id\n    hosts {\n      hostname\n      gpus {\n        id\n        uuid\n' +
    '        name\n        status\n      }\n    }\n  }\n}\n'],
  ['Workers and their tasks',
    '{\n  workers {\n    id\n    state\n    cpuUsage\n    runningTasks {\n      taskId\n      status\n' +
    '      task { command createdAt }\n    }\n  }\n}\n'],
  ['Latest events', '{\n  events(limit: 20) {\n    id\n    type\n    time\n    workerId\n    taskId\n  }\n}\n'],
  ['Submit a task (admin)',
    'mutation Submit($input: TaskInput!) {\n  submitTask(input: $input) {\n    taskId\n    status\n  }\n}\n',
    '{"input": {"command": ["echo", "hello"]}}'],
];

const INTROSPECTION = `{ __schema { types { kind name description
  fields(includeDeprecated: true) { name description args { name type { ...T } defaultValue } type { ...T } }
  inputFields { name description type { ...T } defaultValue }
  enumValues(includeDeprecated: true) { name description } } } }
fragment T on __Type { kind name ofType { kind name ofType { kind name ofType { kind name } } } }`;

const $ = (id) => document.getElementById(id);

function el(tag, props = {}, ...children) {
  const e = document.createElement(tag);
  Object.assign(e, props);
  for (const c of children) e.append(c);
  return e;
}

function token() { return sessionStorage.getItem(TOKEN_KEY) || ''; }

function authHeaders() {
  return token() ? { Authorization: `Bearer ${token()}` } : {};
}

// POST /graphql; resolves to {status, body, ms}.
async function post(query, variables, operationName) {
  const headers = { 'Content-Type': 'application/json', ...authHeaders() };
  const started = performance.now();
  const r = await fetch('/graphql', {
    method: 'POST', headers, body: JSON.stringify({ query, variables, operationName }),
  });
  const text = await r.text();
  let body;
  try { body = JSON.parse(text); } catch { body = text; }
  return { status: r.status, body, ms: performance.now() - started };
}

function say(text, kind = '') {
  $('status').textContent = text;
  $('status').className = kind;
}

async function run() {
  let variables = null;
  const vtext = $('variables').value.trim();
  if (vtext) {
    try { variables = JSON.parse(vtext); } catch (e) { say(`Variables: ${e.message}`, 'bad'); return; }
  }
  localStorage.setItem(QUERY_KEY, $('query').value);
  localStorage.setItem(VARS_KEY, $('variables').value);
  $('run').disabled = true;
  say('Running...');
  try {
    const { status, body, ms } = await post($('query').value, variables, $('operation').value.trim() || null);
    const errors = body && body.errors ? body.errors.length : 0;
    say(`HTTP ${status} in ${ms.toFixed(0)} ms${errors ? `, ${errors} error${errors > 1 ? 's' : ''}` : ''}`,
      status === 200 && !errors ? 'good' : 'bad');
    $('result').textContent = typeof body === 'string' ? body : JSON.stringify(body, null, 2);
    if (status === 401) loadSchema();
  } catch (e) {
    say(`Could not reach gantryd: ${e.message}`, 'bad');
  } finally {
    $('run').disabled = false;
  }
}

// "[GPU!]!" from an introspected type reference.
function typeName(t) {
  if (t.kind === 'NON_NULL') return `${typeName(t.ofType)}!`;
  if (t.kind === 'LIST') return `[${typeName(t.ofType)}]`;
  return t.name;
}

function namedType(t) { return t.ofType ? namedType(t.ofType) : t.name; }

function typeLink(t) {
  const a = el('a', { href: '#', textContent: typeName(t) });
  a.addEventListener('click', (e) => { e.preventDefault(); showType(namedType(t)); });
  return a;
}

let schemaTypes = new Map();

function fieldItem(f) {
  const li = el('li', { className: 'mono' }, f.name);
  if (f.args && f.args.length) {
    li.append('(');
    f.args.forEach((a, i) => {
      li.append(i ? ', ' : '', `${a.name}: `, typeLink(a.type));
      if (a.defaultValue !== null) li.append(` = ${a.defaultValue}`);
    });
    li.append(')');
  }
  li.append(': ', typeLink(f.type));
  if (f.description) li.append(el('span', { className: 'doc', textContent: f.description }));
  return li;
}

function showType(name) {
  const t = schemaTypes.get(name);
  const box = $('type');
  box.replaceChildren();
  if (!t) return;
  box.append(el('h2', { className: 'mono', textContent: `${t.kind.toLowerCase().replace('_', ' ')} ${t.name}` }));
  if (t.description) box.append(el('p', { textContent: t.description }));
  const items = el('ul');
  for (const f of t.fields || t.inputFields || []) items.append(fieldItem(f));
  for (const v of t.enumValues || []) {
    items.append(el('li', { className: 'mono', textContent: v.name },
      ...(v.description ? [el('span', { className: 'doc', textContent: v.description })] : [])));
  }
  box.append(items);
}

function listTypes() {
  const needle = $('filter').value.trim().toLowerCase();
  const nav = $('types');
  nav.replaceChildren();
  for (const t of schemaTypes.values()) {
    if (t.name.startsWith('__')) continue;
    const fields = (t.fields || t.inputFields || []).map((f) => f.name.toLowerCase());
    if (needle && !t.name.toLowerCase().includes(needle) && !fields.some((f) => f.includes(needle))) continue;
    const a = el('a', { href: '#', textContent: t.name, className: `kind-${t.kind.split('_')[0].toLowerCase()}` });
    a.addEventListener('click', (e) => { e.preventDefault(); showType(t.name); });
    nav.append(a);
  }
}

// Reads the schema by introspection, once the tab's token may (GET
// /ui/session says so without a 401).
async function loadSchema() {
  const note = (text) => $('types').replaceChildren(el('span', { textContent: text }));
  try {
    const session = await (await fetch('/ui/session', { headers: authHeaders() })).json();
    if (session.auth_required && session.role === 'none') {
      note(token() ? 'That token is not valid: enter another above.'
        : 'The API needs a token: enter one above to read the schema and run queries.');
      $('token').focus();
      return;
    }
    const { status, body } = await post(INTROSPECTION, null, null);
    if (status !== 200 || !body.data) {
      note(`The schema could not be read (HTTP ${status}).`);
      return;
    }
    schemaTypes = new Map(body.data.__schema.types.map((t) => [t.name, t]));
    listTypes();
    showType('Query');
  } catch (e) {
    note(`The schema could not be read: ${e.message}`);
  }
}

function useExample(i) {
  const [, query, variables = ''] = EXAMPLES[i];
  $('query').value = query;
  $('variables').value = variables;
  $('operation').value = '';
}

// Tab indents in the editors instead of leaving them; Ctrl+Enter runs.
function editorKeys(e) {
  if ((e.ctrlKey || e.metaKey) && e.key === 'Enter') {
    e.preventDefault();
    run();
  } else if (e.key === 'Tab' && !e.shiftKey) {
    e.preventDefault();
    e.target.setRangeText('  ', e.target.selectionStart, e.target.selectionEnd, 'end');
  }
}

function start() {
  EXAMPLES.forEach(([title], i) => $('examples').append(el('option', { value: String(i), textContent: title })));
  $('examples').addEventListener('change', (e) => useExample(Number(e.target.value)));
  const saved = localStorage.getItem(QUERY_KEY);
  if (saved) {
    $('query').value = saved;
    $('variables').value = localStorage.getItem(VARS_KEY) || '';
  } else {
    useExample(0);
  }
  $('token').value = token();
  $('token').addEventListener('change', (e) => {
    if (e.target.value) sessionStorage.setItem(TOKEN_KEY, e.target.value);
    else sessionStorage.removeItem(TOKEN_KEY);
    loadSchema();
  });
  $('run').addEventListener('click', run);
  for (const id of ['query', 'variables', 'operation']) $(id).addEventListener('keydown', editorKeys);
  $('filter').addEventListener('input', listTypes);
  loadSchema();
}

start();
