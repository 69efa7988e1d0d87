// The member-count trend: a uPlot line over a segment's refresh history,
// with a tooltip per point that the mouse or the arrow keys move.

import { $, h, fmtTime, num } from './ui.js';

let plot = null;
let resizeObserver = null;

/** destroyTrend removes the chart, if any. */
export function destroyTrend() {
  if (plot) {
    plot.destroy();
    plot = null;
  }
  if (resizeObserver) {
    resizeObserver.disconnect();
    resizeObserver = null;
  }
  const tip = $('trend-tooltip');
  tip.hidden = true;
  tip.textContent = '';
  delete tip.dataset.time;
  delete tip.dataset.members;
  delete tip.dataset.index;
}

/**
 * renderTrend draws history (entries {time, members, entered, left, job,
 * asOf}, oldest first) into #trend-chart and fills the table beside it.
 */
export function renderTrend(history) {
  destroyTrend();
  const box = $('trend-chart');
  box.replaceChildren();
  const tbody = document.querySelector('#trend-table tbody');
  tbody.replaceChildren(
    ...history.map((e) =>
      h(
        'tr',
        null,
        h('td', null, fmtTime(e.time)),
        h('td', null, e.asOf ? fmtTime(e.asOf) : '—'),
        h('td', { class: 'num' }, num(e.members)),
        h('td', { class: 'num' }, num(e.entered)),
        h('td', { class: 'num' }, num(e.left)),
        h('td', { class: 'num' }, e.job),
      ),
    ),
  );
  box.dataset.points = String(history.length);
  if (history.length === 0) {
    box.append(h('p', { class: 'muted empty-chart' }, 'No refresh in this time range.'));
    return;
  }
  if (typeof window.uPlot !== 'function') {
    box.append(h('p', { class: 'muted' }, 'The chart library did not load; the table below has the trend.'));
    return;
  }
  const xs = history.map((e) => Date.parse(e.time) / 1000);
  const ys = history.map((e) => e.members);
  const tip = $('trend-tooltip');

  const show = (u, idx) => {
    if (idx === null || idx === undefined || idx < 0 || idx >= history.length) {
      tip.hidden = true;
      return;
    }
    const e = history[idx];
    tip.dataset.time = e.time;
    tip.dataset.members = String(e.members);
    tip.dataset.index = String(idx);
    tip.replaceChildren(
      h('span', { class: 'tip-time' }, fmtTime(e.time)),
      ': ',
      h('strong', { class: 'tip-members' }, num(e.members)),
      ' members',
      h('span', { class: 'tip-delta muted' }, ` (+${num(e.entered)} entered, −${num(e.left)} left)`),
    );
    tip.hidden = false;
    const left = u.valToPos(xs[idx], 'x');
    const top = u.valToPos(ys[idx], 'y');
    const over = u.over.getBoundingClientRect();
    const wrap = box.parentElement.getBoundingClientRect();
    const x = over.left - wrap.left + left;
    const y = over.top - wrap.top + top;
    const w = tip.offsetWidth;
    tip.style.left = `${Math.max(0, Math.min(x - w / 2, wrap.width - w))}px`;
    tip.style.top = `${Math.max(0, y - tip.offsetHeight - 12)}px`;
  };

  const width = Math.max(320, box.clientWidth || 600);
  const opts = {
    width,
    height: 260,
    scales: {
      x: { time: true, range: (u, min, max) => (min === max ? [min - 43200, max + 43200] : [min, max]) },
      y: { range: (u, min, max) => [0, Math.max(1, Math.ceil(max * 1.1))] },
    },
    series: [
      {},
      {
        label: 'Members',
        stroke: '#1d5fbf',
        width: 2,
        fill: 'rgba(29, 95, 191, 0.08)',
        points: { show: true, size: 7, fill: '#1d5fbf' },
      },
    ],
    axes: [{}, { size: 70, values: (u, vals) => vals.map((v) => num(v)) }],
    legend: { show: false },
    cursor: { drag: { x: false, y: false }, points: { size: 11 } },
    hooks: { setCursor: [(u) => show(u, u.cursor.idx)] },
  };
  plot = new window.uPlot(opts, [xs, ys], box);

  let kbIdx = -1;
  box.onkeydown = (ev) => {
    const last = history.length - 1;
    if (ev.key === 'ArrowRight') kbIdx = Math.min(last, kbIdx + 1);
    else if (ev.key === 'ArrowLeft') kbIdx = kbIdx < 0 ? last : Math.max(0, kbIdx - 1);
    else if (ev.key === 'Home') kbIdx = 0;
    else if (ev.key === 'End') kbIdx = last;
    else return;
    ev.preventDefault();
    plot.setCursor({ left: plot.valToPos(xs[kbIdx], 'x'), top: plot.valToPos(ys[kbIdx], 'y') });
  };
  box.onblur = () => {
    kbIdx = -1;
  };

  resizeObserver = new ResizeObserver(() => {
    const w = Math.max(320, box.clientWidth);
    if (plot && Math.abs(plot.width - w) > 4) plot.setSize({ width: w, height: 260 });
  });
  resizeObserver.observe(box);
}
