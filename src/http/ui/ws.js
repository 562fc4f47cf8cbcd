// One WebSocket to /ws for the whole page. Subscriptions are sent again
// after a reconnect (each may say where to resume from), and messages go to
// the listeners of their type ("telemetry", "snapshot", "event", "gpu", ...).
import { wsUrl } from './api.js';

class Live {
  constructor() {
    this.sock = null;
    this.subs = new Set();
    this.pending = [];            // subscriptions sent, waiting for their id
    this.handlers = new Map();
    this.stateFns = new Set();
    this.up = false;
    this.retry = 1000;
    this.timer = 0;
  }

  start() {
    if (this.sock) return;
    const s = new WebSocket(wsUrl('/ws'));
    this.sock = s;
    s.onopen = () => {
      this.retry = 1000;
      this.setUp(true);
      for (const sub of this.subs) this.send(sub);
    };
    s.onmessage = m => this.receive(JSON.parse(m.data));
    s.onclose = () => {
      this.sock = null;
      this.pending = [];
      for (const sub of this.subs) sub.id = 0;
      this.setUp(false);
      this.timer = setTimeout(() => this.start(), this.retry);
      this.retry = Math.min(this.retry * 2, 15000);
    };
  }

  // Closes the connection for good (signing out).
  stop() {
    clearTimeout(this.timer);
    if (this.sock) {
      Object.assign(this.sock, { onclose: null, onmessage: null });
      quietClose(this.sock);
      this.sock = null;
    }
    this.setUp(false);
  }

  setUp(up) {
    this.up = up;
    for (const fn of this.stateFns) fn(up);
  }

  onState(fn) { this.stateFns.add(fn); fn(this.up); return () => this.stateFns.delete(fn); }

  on(type, fn) {
    if (!this.handlers.has(type)) this.handlers.set(type, new Set());
    this.handlers.get(type).add(fn);
    return () => this.handlers.get(type).delete(fn);
  }

  // {topic, filters, from: string or () => string}; returns a function
  // that ends the subscription.
  subscribe(spec) {
    const sub = { ...spec, id: 0, gone: false };
    this.subs.add(sub);
    if (this.up) this.send(sub);
    return () => {
      sub.gone = true;
      this.subs.delete(sub);
      if (sub.id && this.up) this.sock.send(JSON.stringify({ type: 'unsubscribe', id: sub.id }));
    };
  }

  send(sub) {
    const from = typeof sub.from === 'function' ? sub.from() : sub.from;
    const msg = { type: 'subscribe', topic: sub.topic };
    if (sub.filters) msg.filters = sub.filters;
    if (from) msg.from = from;
    this.pending.push(sub);
    this.sock.send(JSON.stringify(msg));
  }

  receive(msg) {
    if (msg.type === 'subscribed' || (msg.type === 'error' && msg.code === 'BAD_SUBSCRIPTION')) {
      const sub = this.pending.shift();
      if (sub && msg.type === 'subscribed') {
        sub.id = msg.id;
        if (sub.gone) this.sock.send(JSON.stringify({ type: 'unsubscribe', id: msg.id }));
      }
    }
    const fns = this.handlers.get(msg.type);
    if (fns) for (const fn of fns) fn(msg);
  }
}

export const live = new Live();

// A WebSocket of its own for one stream (a task's log): onMessage gets each
// parsed message, onClose the close event. Returns a function that closes it.
export function stream(path, onMessage, onClose) {
  const s = new WebSocket(wsUrl(path));
  s.onmessage = m => onMessage(JSON.parse(m.data));
  s.onclose = e => onClose(e);
  return () => { s.onclose = null; s.onmessage = null; quietClose(s); };
}

// Closing a socket still connecting makes Chrome report an error; such a
// socket is closed as soon as it opens instead.
function quietClose(s) {
  if (s.readyState === WebSocket.CONNECTING) s.onopen = () => s.close();
  else s.close();
}
