// Time-series charts on dygraphs (Debian's libjs-dygraphs, embedded in
// gantryd). Data may be set at any rate; a chart draws at most once per
// animation frame, and only while it is on the page.
import { h } from './dom.js';

// 80000 -> "80k": y axis labels stay narrow; percentages keep their sign.
function axisLabel(v, unit) {
  const s = Math.abs(v) >= 10000 ? `${+(v / 1000).toFixed(1)}k` : `${+v.toFixed(2)}`;
  return unit.trim() === '%' ? `${s}%` : s;
}

const COLORS = ['#2563eb', '#16a34a', '#ea580c', '#9333ea', '#0891b2', '#db2777', '#ca8a04', '#4b5563'];

// A card with a title and a chart of the series `labels` (after time).
// unit: shown after values; range: [min, max] fixed (else fits the data);
// connect: draw lines across missing values (else a null is a gap);
// spanMs: the longest window shown, ending at the last row; until the data
// spans that long, the window starts at the first value (and shows at least
// a minute).
export class TimeChart {
  constructor({ title, labels, unit = '', range = null, digits = 1, tall = false, connect = false, spanMs = 0 }) {
    Object.assign(this, { labels, unit, range, digits, connect, spanMs, rows: [], graph: null, queued: false });
    this.plot = h('div', { class: 'plot' });
    // Two series or more: a key beside the title says which colour is which
    // (the legend that follows the pointer gives the values).
    const key = labels.length > 1 && h('span', { class: 'key' }, labels.map((l, i) => {
      const swatch = h('i');
      swatch.style.background = COLORS[i % COLORS.length];
      return h('span', null, swatch, l);
    }));
    this.el = h('section', { class: `card chart${tall ? ' tall' : ''}` }, h('h2', null, title, key), this.plot);
  }

  // rows: [[Date, v1, v2, ...], ...] oldest first; null for no value.
  set(rows) {
    this.rows = rows;
    this.schedule();
  }

  // Adds one row; rows older than keepMs before it are dropped.
  push(row, keepMs) {
    this.rows.push(row);
    const oldest = row[0].getTime() - keepMs;
    let cut = 0;
    while (cut < this.rows.length && this.rows[cut][0].getTime() < oldest) cut++;
    if (cut) this.rows.splice(0, cut);
    this.schedule();
  }

  schedule() {
    if (this.queued) return;
    this.queued = true;
    requestAnimationFrame(() => { this.queued = false; this.draw(); });
  }

  draw() {
    if (!this.plot.isConnected || typeof Dygraph === 'undefined') return;
    // dygraphs wants at least one row: an empty chart shows one gap.
    const file = this.rows.length ? this.rows : [[new Date(), ...this.labels.map(() => null)]];
    const valued = this.rows.filter(r => r.some((v, i) => i > 0 && typeof v === 'number'));
    this.el.dataset.points = valued.length;          // the browser tests read it
    const end = file[file.length - 1][0].getTime();
    const first = valued.length ? valued[0][0].getTime() : end;
    const dateWindow = this.spanMs ? [Math.min(end - 60000, Math.max(end - this.spanMs, first)), end] : null;
    if (this.graph) {
      this.graph.updateOptions({ file, dateWindow });
      return;
    }
    const fmt = v => (typeof v === 'number' ? `${v.toFixed(this.digits)}${this.unit}` : '–');
    this.graph = new Dygraph(this.plot, file, {
      labels: ['time', ...this.labels],
      colors: COLORS,
      strokeWidth: 1.6,
      legend: 'follow',
      labelsSeparateLines: true,
      valueRange: this.range,
      dateWindow,
      includeZero: true,
      connectSeparatedPoints: this.connect,
      axisLabelFontSize: 11,
      axisLineColor: '#d1d5db',
      gridLineColor: '#eef0f3',
      yAxisLabelWidth: 46,
      xAxisHeight: 22,
      resizable: 'passive',
      axes: { y: { valueFormatter: fmt, axisLabelFormatter: v => axisLabel(v, this.unit) } },
    });
  }

  destroy() {
    if (this.graph) this.graph.destroy();
    this.graph = null;
  }
}
