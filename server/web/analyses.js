// Understanding segments on the page: a segment's inspection (where the
// audience is lost), what sets it apart from all customers or another
// segment, the explanation of one customer, and the overlap of the
// segments selected in the list.

import { get, post, query } from './api.js';
import { $, h, num, fmtTime, problemBox } from './ui.js';

// ---- inspection --------------------------------------------------------------

/** loadInspection shows the sizes of a segment's groups and conditions. */
export async function loadInspection(segment, asOf) {
  const box = $('inspect-body');
  if (segment.state === 'draft') {
    box.replaceChildren(h('p', { class: 'muted' }, 'A draft is inspected once its definition is valid.'));
    return;
  }
  box.replaceChildren(h('p', { class: 'muted' }, 'Inspecting…'));
  try {
    const ins = await post('/api/inspect', { definition: segment.definition, ...(asOf ? { asOf } : {}) });
    const rows = [];
    ins.groups.forEach((g, i) => {
      const single = g.conditions.length === 1 && g.conditions[0].path === g.path;
      rows.push(
        h('tr', { class: 'group-row' },
          h('th', { scope: 'row' }, `Group ${i + 1}${g.setOp ? ` (${g.setOp})` : ''}${single ? ': ' + g.condition : ''}`),
          h('td', { class: 'num' }, num(g.size)),
          h('td', { class: 'num', dataset: { testid: 'running' } }, num(g.running))),
      );
      if (!single) {
        for (const c of g.conditions) {
          rows.push(h('tr', null, h('td', { class: 'indent' }, c.condition), h('td', { class: 'num' }, num(c.size)), h('td', null, '')));
        }
      }
    });
    box.replaceChildren(
      h('p', { class: 'muted' }, `${num(ins.members)} members of ${num(ins.customers)} customers. Each condition is counted alone; the running size follows each set operation.`),
      h('div', { class: 'table-wrap' },
        h('table', { class: 'grid', id: 'inspect-table' },
          h('thead', null, h('tr', null, h('th', { scope: 'col' }, 'Group or condition'), h('th', { scope: 'col', class: 'num' }, 'Customers alone'), h('th', { scope: 'col', class: 'num' }, 'Running size'))),
          h('tbody', null, rows))),
    );
  } catch (err) {
    box.replaceChildren(problemBox(err));
  }
}

// ---- what sets it apart ------------------------------------------------------

let apartSegment = null;

/** setApart sets the segment the differentiators are asked for. */
export async function setApart(segment) {
  apartSegment = segment;
  const out = $('apart-out');
  const form = $('apart-form');
  out.replaceChildren();
  if (!segment.lastRefreshed || segment.lastRefreshed.startsWith('0001-')) {
    form.hidden = true;
    out.replaceChildren(h('p', { class: 'muted' }, 'Refresh the segment to see what sets its members apart.'));
    return;
  }
  form.hidden = false;
  const sel = $('apart-against');
  sel.replaceChildren(h('option', { value: '' }, 'all customers'));
  try {
    const res = await get(`/api/segments${query({ sort: 'name', limit: 1000 })}`);
    for (const s of res.segments || []) {
      if (s.name !== segment.name && s.lastRefreshed && !s.lastRefreshed.startsWith('0001-')) {
        sel.append(h('option', { value: s.name }, s.displayName ? `${s.name} (${s.displayName})` : s.name));
      }
    }
  } catch {
    // The comparison with all customers still works.
  }
}

const pct = (x) => `${(100 * x).toFixed(1)}%`;

function meanText(type, x) {
  if (x === undefined) return 'no value';
  if (type === 'date' || type === 'datetime') return new Date(Math.round(x) * 86400000).toISOString().slice(0, 10);
  return Number(x.toPrecision(6)).toString();
}

/** apartCell says what drives one attribute's score. */
function apartCell(a) {
  if (a.identifying) return h('span', { class: 'muted' }, `Identifies customers (${num(a.distinct)} distinct values) more than it describes them.`);
  if (a.statistic === 'totalVariation') {
    return h('ul', { class: 'apart-values' }, (a.values || []).map((v) =>
      h('li', null, h('strong', null, v.value), `: ${pct(v.segmentShare)} of the segment vs ${pct(v.baseShare)}`,
        v.lift !== undefined ? h('span', { class: v.lift >= 1 ? 'lift-up' : 'lift-down' }, ` (lift ×${v.lift.toFixed(2)})`) : ' (none in the base)')));
  }
  if (a.segment.mean === undefined || a.base.mean === undefined) return h('span', { class: 'muted' }, 'No values to compare.');
  let text = `Mean ${meanText(a.type, a.segment.mean)} vs ${meanText(a.type, a.base.mean)}`;
  if (a.smd !== undefined) text += ` (Cohen's d ${a.smd.toFixed(2)})`;
  text += `; median ${a.segment.median} vs ${a.base.median}`;
  if (a.score > 0) text += `; at or below ${a.ksAt}: ${pct(a.segmentBelow)} vs ${pct(a.baseBelow)}`;
  return text;
}

$('apart-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  if (!apartSegment) return;
  const out = $('apart-out');
  out.replaceChildren(h('p', { class: 'muted' }, 'Comparing…'));
  try {
    const d = await get(`/api/differentiators${query({ segment: apartSegment.name, against: $('apart-against').value })}`);
    const base = d.against ? `${d.against} (${num(d.baseSize)})` : `all ${num(d.baseSize)} customers`;
    out.replaceChildren(
      h('p', { class: 'muted' }, `${num(d.segmentSize)} members against ${base}${d.asOf ? `; measures as of ${fmtTime(d.asOf)}` : ''}. ` +
        'Strings and booleans are scored by the total variation distance of their values\' shares, the others by the Kolmogorov-Smirnov statistic: 0 is no difference, 1 the most. Customers without a value are counted apart.'),
      h('div', { class: 'table-wrap' }, h('table', { class: 'grid', id: 'apart-table' },
        h('thead', null, h('tr', null, ['Attribute', 'Statistic', 'Score', 'No value (segment vs base)', 'What sets it apart'].map((c) => h('th', { scope: 'col' }, c)))),
        h('tbody', null, d.attributes.map((a) => h('tr', { dataset: { attribute: a.attribute } },
          h('th', { scope: 'row' }, a.attribute),
          h('td', null, a.statistic === 'ks' ? 'Kolmogorov-Smirnov' : 'total variation'),
          h('td', { class: 'num', dataset: { testid: 'score' } }, a.score.toFixed(3)),
          h('td', { class: 'num' }, `${pct(a.segment.null / Math.max(1, a.segment.values + a.segment.null))} vs ${pct(a.base.null / Math.max(1, a.base.values + a.base.null))}`),
          h('td', null, apartCell(a))))))),
    );
  } catch (err) {
    out.replaceChildren(problemBox(err));
  }
});

// ---- explain -------------------------------------------------------------------

let explained = { segment: null, asOf: '' };

/** setExplained sets the segment the explain form asks about. */
export function setExplained(segment, asOf) {
  explained = { segment, asOf };
  $('explain-out').replaceChildren();
  $('explain-form').hidden = segment.state === 'draft';
}

$('explain-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const key = $('explain-key').value.trim();
  const out = $('explain-out');
  if (!key || !explained.segment) return;
  out.replaceChildren(h('p', { class: 'muted' }, 'Explaining…'));
  try {
    const ex = await post('/api/explain', {
      definition: explained.segment.definition,
      customer: key,
      ...(explained.asOf ? { asOf: explained.asOf } : {}),
    });
    out.replaceChildren(
      h('p', { class: ex.member ? 'verdict in' : 'verdict out', dataset: { testid: 'verdict' } },
        `Customer ${ex.customer} is ${ex.member ? '' : 'not '}a member.`),
      ...ex.groups.map((g, i) =>
        h('div', { class: 'explain-group' },
          h('p', null, `Group ${i + 1}${g.setOp ? ` (${g.setOp})` : ''}: ${g.condition.holds ? 'holds' : 'does not hold'}; a member after it: ${g.running ? 'yes' : 'no'}`),
          h('ul', { class: 'explain-tree' }, node(g.condition)))),
    );
  } catch (err) {
    out.replaceChildren(problemBox(err));
  }
});

function node(n) {
  const label = n.children && n.children.length ? n.kind : n.condition;
  const extra = [];
  if (n.kind === 'predicate' && !n.rows) extra.push(h('span', { class: 'muted' }, n.null ? ' (no value)' : ` (value ${n.value})`));
  let rows = null;
  if (n.rows) {
    const r = n.rows;
    let what = `${num(r.matched)} of ${num(r.total)} ${r.entity} rows match`;
    if (r.aggregate !== undefined || r.aggregateNull) what += `; the aggregate is ${r.aggregateNull ? 'no value' : r.aggregate}`;
    extra.push(h('div', { class: 'muted' }, what));
    if (r.rows.length) {
      rows = h('details', null, h('summary', null, `${r.listed} rows`),
        h('table', { class: 'grid' },
          h('thead', null, h('tr', null, r.attributes.map((a) => h('th', { scope: 'col' }, a)))),
          h('tbody', null, r.rows.map((row) => h('tr', null, row.map((v) => h('td', null, v)))))));
    }
  }
  return h('li', { class: n.holds ? 'holds' : 'fails' },
    h('span', { class: 'mark', 'aria-label': n.holds ? 'holds' : 'does not hold' }, n.holds ? '✓' : '✗'), ' ', label, extra, rows,
    n.children && n.children.length ? h('ul', null, n.children.map(node)) : null);
}

// ---- overlap -------------------------------------------------------------------

let overlapNames = [];

/** openOverlap shows the overlap dialog for the named segments. */
export async function openOverlap(names, data) {
  overlapNames = names;
  const sel = $('overlap-by');
  const cust = data.schema.entities.find((e) => e.name === data.schema.customerEntity);
  sel.replaceChildren(h('option', { value: '' }, '(no breakdown)'),
    ...cust.attributes.filter((a) => a.name !== cust.key).map((a) => h('option', { value: `${cust.name}.${a.name}` }, `${cust.name}.${a.name}`)));
  $('overlap-title').textContent = `Overlap of ${names.join(', ')}`;
  $('overlap-dialog').showModal();
  await showOverlap();
}

async function showOverlap() {
  const out = $('overlap-out');
  out.replaceChildren(h('p', { class: 'muted' }, 'Counting…'));
  try {
    const by = $('overlap-by').value;
    const ov = await get(`/api/overlap${query({ segments: overlapNames.join(','), by })}`);
    const values = (ov.values || []).slice(0, 8);
    const head = ['In', 'Customers', 'Share', ...values, ...(by ? ['Other', 'No value'] : [])];
    const body = ov.regions.map((r) => {
      const name = r.in.length === 0 ? '(none of them)' : r.in.join(' & ') + (r.in.length < ov.sets.length ? ' only' : '');
      const cells = [h('th', { scope: 'row' }, name), h('td', { class: 'num' }, num(r.count)),
        h('td', { class: 'num' }, ov.customers ? `${((100 * r.count) / ov.customers).toFixed(1)}%` : '0%')];
      if (by) {
        let other = r.other || 0;
        (r.byValue || []).forEach((c, j) => {
          if (j < values.length) cells.push(h('td', { class: 'num' }, num(c)));
          else other += c;
        });
        cells.push(h('td', { class: 'num' }, num(other)), h('td', { class: 'num' }, num(r.null || 0)));
      }
      return h('tr', { dataset: { mask: String(r.mask) } }, cells);
    });
    out.replaceChildren(
      h('p', { class: 'muted' }, `${num(ov.customers)} customers; ${ov.sets.map((s, i) => `${s}: ${num(ov.sizes[i])}`).join(', ')}.`),
      h('div', { class: 'table-wrap scroll' }, h('table', { class: 'grid', id: 'overlap-table' },
        h('thead', null, h('tr', null, head.map((c) => h('th', { scope: 'col' }, c)))), h('tbody', null, body))),
    );
  } catch (err) {
    out.replaceChildren(problemBox(err));
  }
}

$('overlap-by').addEventListener('change', showOverlap);
$('overlap-close').addEventListener('click', () => $('overlap-dialog').close());
